"""Score 16 clips the shipped generator made (seed 777) plus Audio_Examples' Seven and Six, and 16 FSDD test takes,
by recovery_scores with the fit's settings (recovery.detect.FIT's fields) given as JSON, under each named
perturbation (issue 20 tuning).

    PYTHONPATH=. python docs/experiments/2026-11-30_detection_sweep.py '{"patience": 4}' clean,shift37,gain+6
"""
import json
import sys
import time

import numpy as np

from benchmarks.clip_sets import perturb
from models.resnet import load_inverse_mapping
from models.tf1_loader import load_generator
from models.wavegan import random_z, synthesize
from recovery.detect import FIT, Scoring, recovery_scores
from recovery.profile import Profile
from utils.audio import load_audio
from utils.data import load_split


def main(changes, names, n=16):
    G = load_generator('checkpoint')
    net = load_inverse_mapping('inverse_mapping_checkpoint/inverse_mapping.keras')
    hard = np.stack([load_audio(f'Audio_Examples/originals/{k}_synthesized.wav') for k in ('Seven', 'Six')])
    fake = np.concatenate([synthesize(G, random_z(n, np.random.default_rng(777))), hard])
    real = load_split('datasets/fsdd/recordings', 'test')[0]
    real = real[np.random.default_rng(0).choice(len(real), n, replace=False)]
    scoring = Scoring(fit=FIT.replace(**changes))
    for name in names:
        profile, started = Profile(), time.perf_counter()
        a = recovery_scores(perturb(name, fake, 1), G, net, scoring=scoring, profile=profile)['score']
        fake_seconds, started = (time.perf_counter() - started) / len(fake), time.perf_counter()
        b = recovery_scores(perturb(name, real, 1), G, net, scoring=scoring, profile=profile)['score']
        real_seconds = (time.perf_counter() - started) / n
        stages = {k: round(v / (len(fake) + n), 3) for k, v in profile.seconds.items() if v}
        print(name, changes, 'fake', np.round(np.sort(a)[:5], 1), 'real max', np.round(b.max(), 2),
              f'{fake_seconds:.2f}/{real_seconds:.2f} s', stages, flush=True)


if __name__ == '__main__':
    main(json.loads(sys.argv[1]), sys.argv[2].split(','))
