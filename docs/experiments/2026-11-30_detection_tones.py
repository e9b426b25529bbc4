"""What the generator's steady tones tell (recovery/tones.py), on the detection benchmark's clips (issue 20):
the tones that stand out of the shipped generator's clips and how steady their phases are; then,
per perturbation and kind of clip, the share whose tones match the shipped generator's spectrum (and the
largest match of the real and espeak-ng clips), the share whose speed is read within 0.05%, the range of
phase agreement with the shipped generator's and the second one's, and the share whose shift the phases give
exactly up to a multiple of 1024 (each clip first moved by its own random shift in [-400, 400]).

    PYTHONPATH=. python docs/experiments/2026-11-30_detection_tones.py [CLIPS]
"""
import sys

import numpy as np

from benchmarks.clip_sets import detection_clips, perturb, perturbation_rng
from benchmarks.detection import perturbations
from models.tf1_loader import load_generator
from recovery import tones as T
from recovery.alignment import generator_words
from utils.flags import name_list
from utils.perturb import shift


def main(n):
    G = [load_generator('checkpoint'), load_generator('checkpoint_seed1')]
    prints = [T.fingerprint(generator_words(g)) for g in G]
    kinds = detection_clips(G, n, 'datasets/fsdd/recordings', espeak_dir='logs/benchmarks/espeak')
    mean_tones = T.tones(generator_words(G[0])).mean(axis=0)
    loudest = np.sort(np.argsort(-mean_tones)[:8])
    print('shipped generator: tones most above their surroundings (Hz, dB):',
          ', '.join(f'{b * 16000 / 16384:.1f} {mean_tones[b]:.1f}' for b in loudest))
    steady = np.abs(prints[0]['phases'])
    bins = T.phase_bins(16384)
    print('phase steadiness (length of the mean phasor over 256 z) on the 1024-sample grid: median '
          f'{np.median(steady):.2f}, the 12 steadiest {[round(float(v), 2) for v in np.sort(steady)[-12:]]} '
          f'at {np.round(bins[np.argsort(steady)[-12:]] * 16000 / 16384, 1).tolist()} Hz')
    moves = {kind: np.random.default_rng([2026, 5, k]).integers(-400, 401, len(a))
             for k, (kind, a) in enumerate(kinds.items())}
    for name in name_list(perturbations):
        rng = perturbation_rng(name)
        factor = 1 + float(name[5:]) / 100 if name.startswith('speed') else 1.0
        cells = []
        for kind, audio in kinds.items():
            perturbed = perturb(name, shift(audio, moves[kind]), rng)
            speeds, matched = T.played_speeds(perturbed, prints[0])
            heard = T.undo_speed(perturbed, speeds)
            found, locked = T.tone_shifts(heard, prints[0])
            extra = int(name[5:]) if name.startswith('shift') else 0
            own, other = (T.phase_agreement(heard, p).max(axis=-1) for p in prints)
            cell = f'{kind}: match {matched.mean():.2f}'
            if kind in ('G1', 'G2'):
                cell += f', speed {np.mean(np.abs(speeds / factor - 1) <= 5e-4):.2f}'
            else:
                cell += f' (max {T.speed_match(perturbed, prints[0]).max():.3f})'
            cell += f', phases G1 {own.min():.2f}-{own.max():.2f} G2 {other.min():.2f}-{other.max():.2f}'
            if kind == 'G1' and not name.startswith('speed'):
                right = (found - moves[kind] - extra) % T.PERIOD == 0  # up to a multiple of 1024
                cell += f', shift right {np.mean(right):.2f} (locked {locked.mean():.2f})'
            cells.append(cell)
        print(f'{name}: ' + '; '.join(cells), flush=True)


if __name__ == '__main__':
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
