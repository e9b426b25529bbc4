"""Re-score the shipped generator's benchmark clips that recovery scored under 3 dB (OGG, resampling, shift 37),
read from logs/benchmarks/detection/scores/ after `python benchmarks/detection.py --clips=60`, with more patience
and more Jacobians (issue 20).

    PYTHONPATH=. python docs/experiments/2026-11-30_detection_misses.py
"""
import numpy as np

from benchmarks.clip_sets import fakes, perturb, perturbation_rng
from models.resnet import load_inverse_mapping
from models.tf1_loader import load_generator
from recovery.detect import FIT, Scoring, recovery_scores


def main():
    G = load_generator('checkpoint')
    E = load_inverse_mapping('inverse_mapping_checkpoint/inverse_mapping.keras')
    clips = fakes(G, 60)[1]
    for name in ('ogg', 'resample8k', 'shift37'):
        saved = np.load(f'logs/benchmarks/detection/scores/{name}.npz')['recovery/G1/G1']
        miss = np.flatnonzero(saved < 3.0)
        x = perturb(name, clips, perturbation_rng(name))[miss]
        for changes in ({}, {'patience': 4}, {'patience': 4, 'iterations': 8}):
            r = recovery_scores(x, G, E, scoring=Scoring(fit=FIT.replace(**changes)))
            print(name, 'clips', list(miss), 'saved', np.round(saved[miss], 2), changes, 'now', np.round(r['score'], 2),
                  'shift', r['shift'], flush=True)


if __name__ == '__main__':
    main()
