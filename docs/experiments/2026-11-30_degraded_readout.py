"""The shipped network's linear readout against ridge readouts fitted on N clips of the shipped generator, clean or
half degraded (utils/perturb.degrade) at two ridge penalties: each readout's median latent MSE on the detection
benchmark's 60 fakes (seed 2026), clean and perturbed (issue 20). Argument: N (clips for the fits).

    PYTHONPATH=. python docs/experiments/2026-11-30_degraded_readout.py 6000
"""
import sys, importlib.util

import numpy as np

from models.tf1_loader import load_generator
from models.resnet import load_inverse_mapping
from models.wavegan import synthesize, random_z
from utils.perturb import degrade
spec = importlib.util.spec_from_file_location('bench', 'benchmarks/detection.py'); bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
G = load_generator('checkpoint'); E = load_inverse_mapping('inverse_mapping_checkpoint/inverse_mapping.keras')
K0, b0 = E.get_layer('linear_readout').get_weights()
n = int(sys.argv[1])
z = random_z(n, np.random.default_rng(5)); audio = synthesize(G, z)
rng = np.random.default_rng(6)
def ridge(audio, z, r=1e-4):
    ma, mz = audio.mean(0), z.mean(0); a = (audio - ma).astype(np.float64)
    gram = a @ a.T; gram[np.diag_indices_from(gram)] += r * np.trace(gram) / len(a)
    K = a.T @ np.linalg.solve(gram, z - mz); return K, mz - ma @ K
z_t = random_z(60, np.random.default_rng([2026, 1])); fakes = synthesize(G, z_t)
tests = {name: bench.perturbation(name, np.random.default_rng([2026, 7, sum(map(ord, name))]))(fakes) for name in ('clean', 'ogg', 'resample8k', 'mp3', 'noise30')}
def report(label, K, b):
    print(label, ' '.join(f'{k} {np.median(np.mean((np.clip(x @ K + b, -1, 1) - z_t) ** 2, 1)):.3f}' for k, x in tests.items()), flush=True)
report('shipped K (40000 clean)', K0, b0)
report(f'ridge {n} clean', *ridge(audio, z))
for share in (0.5,):
    deg = degrade(audio, rng, share=share)
    for r in (1e-4, 1e-3, 3e-3, 1e-2):
        report(f'ridge {n} degraded share {share} r {r}', *ridge(deg, z, r))
