"""The shipped network's linear readout against ridge readouts fitted on N clips of the shipped generator, clean or
half degraded (utils/perturb.degrade) at two ridge penalties: each readout's median latent MSE on the detection
benchmark's 60 fakes (seed 2026), clean and perturbed (issue 20). Argument: N (clips for the fits).

    PYTHONPATH=. python docs/experiments/2026-11-30_degraded_readout.py 6000
"""
import sys

import numpy as np

from benchmarks.clip_sets import fakes, perturb, perturbation_rng
from models.resnet import load_inverse_mapping
from models.tf1_loader import load_generator
from models.wavegan import random_z, synthesize
from utils.perturb import degrade


def ridge(audio, z, r=1e-4):
    """The linear readout z = audio @ K + b fitted by ridge regression, penalty r relative to the mean eigenvalue."""
    ma, mz = audio.mean(0), z.mean(0)
    a = (audio - ma).astype(np.float64)
    gram = a @ a.T
    gram[np.diag_indices_from(gram)] += r * np.trace(gram) / len(a)
    K = a.T @ np.linalg.solve(gram, z - mz)
    return K, mz - ma @ K


def main(n):
    G = load_generator('checkpoint')
    E = load_inverse_mapping('inverse_mapping_checkpoint/inverse_mapping.keras')
    K0, b0 = E.get_layer('linear_readout').get_weights()
    z = random_z(n, np.random.default_rng(5))
    audio = synthesize(G, z)
    z_t, clean = fakes(G, 60)
    tests = {name: perturb(name, clean, perturbation_rng(name)) for name in ('clean', 'ogg', 'resample8k', 'mp3', 'noise30')}

    def report(label, K, b):
        print(label, ' '.join(f'{k} {np.median(np.mean((np.clip(x @ K + b, -1, 1) - z_t) ** 2, 1)):.3f}'
                              for k, x in tests.items()), flush=True)
    report('shipped K (40000 clean)', K0, b0)
    report(f'ridge {n} clean', *ridge(audio, z))
    degraded = degrade(audio, np.random.default_rng(6), share=0.5)
    for r in (1e-4, 1e-3, 3e-3, 1e-2):
        report(f'ridge {n} degraded share 0.5 r {r}', *ridge(degraded, z, r))


if __name__ == '__main__':
    main(int(sys.argv[1]))
