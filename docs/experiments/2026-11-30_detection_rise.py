"""How recovery's fit rises Jacobian by Jacobian for the benchmark's missed quiet fake (G1 clip 239) and for
real takes (issue 20): is "go on while it rises" a cheap way to tell a slow fake from speech?

    PYTHONPATH=. python docs/experiments/2026-11-30_detection_rise.py [REAL_TAKES]
"""
import sys

import numpy as np

from benchmarks.clip_sets import fake_z, real_takes
from models.resnet import load_inverse_mapping
from models.tf1_loader import load_generator
from models.wavegan import synthesize
from recovery.detect import FIT, Scoring, recovery_scores


def main(takes):
    G = load_generator('checkpoint')
    E = load_inverse_mapping('inverse_mapping_checkpoint_robust/inverse_mapping.keras')
    fake = synthesize(G, fake_z(300)[239:240])
    real = real_takes('datasets/fsdd/recordings', 'test', 300)[:takes]  # the benchmark's first
    clips = np.concatenate([fake, real])
    scores = np.stack([recovery_scores(clips, G, E, scoring=Scoring(fit=FIT.replace(iterations=k, patience=k)))['score']
                       for k in (1, 2, 3, 4)], axis=1)
    print('fake 239, dB after 1-4 Jacobians:', np.round(scores[0], 2).tolist())
    rise = np.diff(scores[1:], axis=1)
    print(f'{takes} real takes: highest score after 1-4 Jacobians {np.round(scores[1:].max(axis=0), 2).tolist()}; '
          f'largest rise from Jacobian 1 to 2 {rise[:, 0].max():.2f} dB, 2 to 3 {rise[:, 1].max():.2f}, '
          f'3 to 4 {rise[:, 2].max():.2f}')


if __name__ == '__main__':
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 24)
