"""2026-11-29, issue 17: how many clips the generator made does Gauss-Newton recover exactly, and at what cost?

Draws N fresh z with SEED (an integer, or a list such as 0,1: the benchmark's stream for --seed=0),
synthesizes G(z) with the shipped generator and runs hybrid recovery without
L-BFGS (max_iter=0), so the figure is Gauss-Newton's alone; extra `name=value` arguments override
recover()'s settings. Prints the share exact (latent MSE at most 1e-6), percentiles, clips with a
coordinate at the prior's bound, seconds a clip and Jacobians a clip.

    python docs/experiments/2026-11-29_gauss_newton_bound.py 779 200
    python docs/experiments/2026-11-29_gauss_newton_bound.py 779 200 restarts=0
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
import numpy as np  # noqa: E402 (the imports below need the path above)
from models.resnet import load_inverse_mapping
from models.tf1_loader import load_generator
from utils import metrics
from utils.losses import waveform_sse
from utils.recovery import Profile, random_z, recover, synthesize

seed, n = [int(part) for part in sys.argv[1].split(',')], int(sys.argv[2])
settings = dict(refine_steps=32, gauss_newton_iterations=12, chord_steps=8, restarts=5)
settings.update({k: type(settings.get(k, 0.0))(v) for k, v in (a.split('=') for a in sys.argv[3:])})
G = load_generator(os.path.join(ROOT, 'checkpoint'))
N = load_inverse_mapping(os.path.join(ROOT, 'inverse_mapping_checkpoint/inverse_mapping.keras'))
z_true = random_z(n, np.random.default_rng(seed))
audio = synthesize(G, z_true)
recover(audio[:2], 'hybrid', G, waveform_sse, N, max_iter=0, **settings)  # trace the functions first
profile = Profile()
z = recover(audio, 'hybrid', G, waveform_sse, N, max_iter=0, profile=profile, **settings)
lm = metrics.latent_mse(z_true, z)
pinned = int(np.sum((np.abs(z) == 1).any(axis=1)))
print(f'{settings}: exact {np.mean(lm <= metrics.EXACT):.3f} ({int(np.sum(lm <= metrics.EXACT))}/{n}), '
      f'median {np.median(lm):.2e}, p90 {np.percentile(lm, 90):.2e}, max {lm.max():.2e}, '
      f'clips with a coordinate at the bound {pinned}, {profile.total / n:.3f} s/clip, '
      f'{profile.passes["tangent"] / n / 100:.2f} Jacobians/clip')
