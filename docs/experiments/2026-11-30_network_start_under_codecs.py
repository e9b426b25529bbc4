"""How good a start the inverse-mapping network gives Gauss-Newton under the detection benchmark's perturbations:
for 60 clips of a generator (the benchmark's fakes, seed 2026), levelled as recovery/detect.py levels them, the
SNR of the affine fit of G(network z) and of G(z refined through the readout), and the network z's latent MSE
(issue 20). Argument 1: the network; argument 2: the generator folder (default checkpoint).

    PYTHONPATH=. python docs/experiments/2026-11-30_network_start_under_codecs.py inverse_mapping_checkpoint/inverse_mapping.keras
"""
import sys, importlib.util

import numpy as np

from models.tf1_loader import load_generator
from models.resnet import load_inverse_mapping
from models.wavegan import synthesize, random_z
from recovery.network_start import network_start
from recovery.gauss_newton import fit_snr
from recovery.alignment import generator_words
from utils.perturb import low_pass
spec = importlib.util.spec_from_file_location('bench', 'benchmarks/detection.py'); bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
G = load_generator(sys.argv[2] if len(sys.argv) > 2 else 'checkpoint'); E = load_inverse_mapping(sys.argv[1])
z_true = random_z(60, np.random.default_rng([2026, 1]))
fakes = synthesize(G, z_true)
peak = float(np.median(np.abs(generator_words(G)).max(axis=1)))
def lev(b):
    c = b - np.median(b, axis=1, keepdims=True); return c * (peak / (np.abs(c).max(axis=1, keepdims=True) + 1e-12))
def affine_snr(x, f):
    f = f - f.mean(1, keepdims=True); xc = x - x.mean(1, keepdims=True)
    g = (f * xc).sum(1) / (f * f).sum(1)
    return fit_snr(x, ((g[:, None] * f - xc) ** 2).sum(1))
for name in ('clean', 'lowpass6k', 'ogg', 'resample8k', 'mp3', 'noise30', 'noise20'):
    if name == 'lowpass6k':  # only the faint highs taken out: 0.2% of the fakes' energy
        x = lev(low_pass(fakes, np.full(len(fakes), 6000.0)))
    else:
        x = lev(bench.perturbation(name, np.random.default_rng([2026, 7, sum(map(ord, name))]))(fakes))
    start, refined = network_start(E, G, x, 8)
    s0 = affine_snr(x, synthesize(G, start)); s1 = affine_snr(x, synthesize(G, refined))
    print(f'{name:11s} start SNR med {np.median(s0):6.2f} refined med {np.median(s1):6.2f} refined<1dB {np.sum(s1 < 1):2d} z mse med {np.median(np.mean((start - z_true) ** 2, 1)):.3f}', flush=True)
