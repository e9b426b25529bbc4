"""How close to the true speed a clip played 5% faster must be slowed back for recovery to fit it (issue 20):
24 of the detection benchmark's G1 clips played 5% fast, slowed by 1.05 x (1 + error), scored by recovery.
Run at commit ed89735, before recovery/tones.py (which now reads the speed itself):

    git checkout ed89735 -- recovery && PYTHONPATH=. python docs/experiments/2026-11-30_detection_speed_tolerance.py; git checkout HEAD -- recovery
"""
import numpy as np

from models.resnet import load_inverse_mapping
from models.tf1_loader import load_generator
from models.wavegan import random_z, synthesize
from recovery.detect import recovery_scores
from utils.perturb import change_speed

G = load_generator('checkpoint')
E = load_inverse_mapping('inverse_mapping_checkpoint_robust/inverse_mapping.keras')
fast = change_speed(synthesize(G, random_z(300, np.random.default_rng([2026, 1]))[:24]), 1.05)
for error in [0.0, 0.001, 0.0025, 0.005, 0.01]:
    scores = recovery_scores(change_speed(fast, 1 / (1.05 * (1 + error))), G, E)['score']
    print(f'speed error {100 * error:.2f}%: scores (dB) {np.round(np.sort(scores), 1).tolist()}')
