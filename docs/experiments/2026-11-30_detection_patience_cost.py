"""Seconds a clip of recovery_scores on the detection benchmark's 60 real takes and 60 G1 clips (seed 2026), with the
default patience and with patience=4, on quiet cores (issue 20).

    PYTHONPATH=. python docs/experiments/2026-11-30_detection_patience_cost.py
"""
import time

from benchmarks.clip_sets import fakes, real_takes
from models.resnet import load_inverse_mapping
from models.tf1_loader import load_generator
from recovery.detect import FIT, Scoring, recovery_scores


def main():
    G = load_generator('checkpoint')
    E = load_inverse_mapping('inverse_mapping_checkpoint/inverse_mapping.keras')
    kinds = {'real': real_takes('datasets/fsdd/recordings', 'test', 60), 'G1': fakes(G, 60)[1]}
    for changes in ({}, {'patience': 4}):
        for name, x in kinds.items():
            started = time.perf_counter()
            r = recovery_scores(x, G, E, scoring=Scoring(fit=FIT.replace(**changes)))['score']
            print(name, changes, f'{(time.perf_counter() - started) / len(x):.3f} s a clip, max {r.max():.2f} '
                  f'min {r.min():.2f}', flush=True)


if __name__ == '__main__':
    main()
