"""How good a start the inverse-mapping network gives Gauss-Newton under the detection benchmark's perturbations:
for 60 clips of a generator (the benchmark's fakes, seed 2026), levelled as recovery/detect.py levels them, the
SNR of the affine fit of G(network z) and of G(z refined through the readout), and the network z's latent MSE
(issue 20). Argument 1: the network; argument 2: the generator folder (default checkpoint).

    PYTHONPATH=. python docs/experiments/2026-11-30_network_start_under_codecs.py inverse_mapping_checkpoint/inverse_mapping.keras
"""
import sys

import numpy as np

from benchmarks.clip_sets import fakes, perturb, perturbation_rng
from models.resnet import load_inverse_mapping
from models.tf1_loader import load_generator
from models.wavegan import synthesize
from recovery.alignment import generator_words, level, typical_peak
from recovery.gauss_newton import fit_gain_and_offset, fit_snr
from recovery.network_start import network_start
from utils.perturb import low_pass


def affine_snr(x, fitted):
    """SNR in dB of gain * fitted + offset against x, with the best gain and offset."""
    gain, offset = fit_gain_and_offset(x, fitted, np.ones_like(x))
    return fit_snr(x, ((gain[:, None] * fitted + offset[:, None] - x) ** 2).sum(1))


def main(network_path, generator_dir):
    G = load_generator(generator_dir)
    E = load_inverse_mapping(network_path)
    z_true, clips = fakes(G, 60)
    peak = typical_peak(generator_words(G))
    for name in ('clean', 'lowpass6k', 'ogg', 'resample8k', 'mp3', 'noise30', 'noise20'):
        if name == 'lowpass6k':  # only the faint highs taken out: 0.2% of the fakes' energy
            x = level(low_pass(clips, np.full(len(clips), 6000.0)), peak)
        else:
            x = level(perturb(name, clips, perturbation_rng(name)), peak)
        start, refined = network_start(E, G, x, 8)
        s0, s1 = affine_snr(x, synthesize(G, start)), affine_snr(x, synthesize(G, refined))
        print(f'{name:11s} start SNR med {np.median(s0):6.2f} refined med {np.median(s1):6.2f} refined<1dB '
              f'{np.sum(s1 < 1):2d} z mse med {np.median(np.mean((start - z_true) ** 2, 1)):.3f}', flush=True)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else 'checkpoint')
