"""Seconds a clip of recovery_scores on the detection benchmark's 60 real takes and 60 G1 clips (seed 2026), with the
default patience and with patience=4, on quiet cores (issue 20).

    PYTHONPATH=. python docs/experiments/2026-11-30_detection_patience_cost.py
"""
import time, numpy as np
from models.tf1_loader import load_generator
from models.resnet import load_inverse_mapping
from models.wavegan import synthesize, random_z
from recovery.detect import recovery_scores
from utils.data import load_split
G = load_generator('checkpoint'); E = load_inverse_mapping('inverse_mapping_checkpoint/inverse_mapping.keras')
real = load_split('datasets/fsdd/recordings', 'test')[0]
real = real[np.sort(np.random.default_rng([2026, 0]).permutation(len(real))[:60])]
fakes = synthesize(G, random_z(60, np.random.default_rng([2026, 1])))
for kw in ({}, {'patience': 4}):
    for name, x in (('real', real), ('G1', fakes)):
        t = time.perf_counter(); r = recovery_scores(x, G, E, **kw)['score']
        print(name, kw, f'{(time.perf_counter() - t) / len(x):.3f} s a clip, max {r.max():.2f} min {r.min():.2f}', flush=True)
