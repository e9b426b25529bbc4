"""2026-11-29, issue 17: the network's latent error and speed against the number of readout refinement steps.

    python docs/experiments/2026-11-29_refine_steps.py 778
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

G = load_generator(os.path.join(ROOT, 'checkpoint'))
N = load_inverse_mapping(os.path.join(ROOT, 'inverse_mapping_checkpoint/inverse_mapping.keras'))
z_true = random_z(200, np.random.default_rng(int(sys.argv[1])))
audio = synthesize(G, z_true)
recover(audio[:32], 'network', G, waveform_sse, N, refine_steps=4)  # trace the functions first
for steps in (0, 4, 8, 16, 32):
    profile = Profile()
    z = recover(audio, 'network', G, waveform_sse, N, refine_steps=steps, profile=profile)
    lm = metrics.latent_mse(z_true, z)
    print(f'refine_steps={steps}: latent MSE median {np.median(lm):.4f}, mean {np.mean(lm):.4f}, '
          f'{len(z) / profile.total:.0f} clips/s')
