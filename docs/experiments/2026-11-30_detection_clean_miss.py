"""The clean G1 clips recovery scored lowest in the 300-clip detection benchmark (issue 20), scored again
alone: as the benchmark does, with more Jacobians, unmoved (no shift search), and from the main network's start.

    PYTHONPATH=. python docs/experiments/2026-11-30_detection_clean_miss.py
"""
import numpy as np

from benchmarks.clip_sets import fake_z
from models.resnet import load_inverse_mapping
from models.tf1_loader import load_generator
from models.wavegan import synthesize
from recovery.detect import FIT, SEARCH, Scoring, recovery_scores


def main():
    G = load_generator('checkpoint')
    E = load_inverse_mapping('inverse_mapping_checkpoint_robust/inverse_mapping.keras')
    saved = np.load('logs/benchmarks/detection/scores/clean.npz')['recovery/G1/G1']
    lowest = np.argsort(saved)[:3]
    clips = synthesize(G, fake_z(300)[lowest])
    print('clips', lowest.tolist(), 'saved scores', np.round(saved[lowest], 2).tolist(),
          'peak', np.round(np.abs(clips).max(axis=1).astype(float), 3).tolist())
    for name, scoring in [('as benchmarked', Scoring()),
                          ('8 Jacobians', Scoring(fit=FIT.replace(iterations=8, patience=8))),
                          ('16 Jacobians', Scoring(fit=FIT.replace(iterations=16, patience=16))),
                          ('unmoved', Scoring(search=SEARCH.replace(largest=0)))]:
        r = recovery_scores(clips, G, E, scoring=scoring)
        print(f'{name}: scores {np.round(r["score"], 2).tolist()}, shifts {r["shift"].tolist()}, '
              f'largest |z| {np.round(np.abs(r["z"]).max(axis=1), 3).tolist()}')
    r = recovery_scores(clips, G, load_inverse_mapping('inverse_mapping_checkpoint/inverse_mapping.keras'))
    print(f'from the main network (not the robust one): scores {np.round(r["score"], 2).tolist()}')


if __name__ == '__main__':
    main()
