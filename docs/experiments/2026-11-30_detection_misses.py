"""Re-score the shipped generator's benchmark clips that recovery scored under 3 dB (OGG, resampling, shift 37),
read from logs/benchmarks/detection/scores/ after `python benchmarks/detection.py --clips=60`, with more patience
and more Jacobians (issue 20).

    PYTHONPATH=. python docs/experiments/2026-11-30_detection_misses.py
"""
import sys, numpy as np

from models.tf1_loader import load_generator
from models.resnet import load_inverse_mapping
from models.wavegan import synthesize, random_z
from recovery.detect import recovery_scores
import importlib.util
spec = importlib.util.spec_from_file_location('bench', 'benchmarks/detection.py'); bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
G = load_generator('checkpoint'); E = load_inverse_mapping('inverse_mapping_checkpoint/inverse_mapping.keras')
fakes = synthesize(G, random_z(60, np.random.default_rng([2026, 1])))
for name in ('ogg', 'resample8k', 'shift37'):
    saved = np.load(f'logs/benchmarks/detection/scores/{name}.npz')
    s = saved['recovery/G1/G1']; miss = np.flatnonzero(s < 3.0)
    rng = np.random.default_rng([2026, 7, sum(map(ord, name))])
    x = bench.perturbation(name, rng)(fakes)[miss]
    for kw in ({}, {'patience': 4}, {'patience': 4, 'iterations': 8}):
        r = recovery_scores(x, G, E, **kw)
        print(name, 'clips', list(miss), 'saved', np.round(s[miss], 2), kw, 'now', np.round(r['score'], 2), 'shift', r['shift'], flush=True)
