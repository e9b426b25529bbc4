"""Recovery's worst cases per perturbation, from the benchmark's saved scores (issue 20): the lowest fake
(G1 clip scored against G1) and the highest real take, in dB, the fakes under the 3 dB threshold and
their indices, and the clean fakes' median.

    PYTHONPATH=. python docs/experiments/2026-11-30_detection_extremes.py [logs/benchmarks/detection]
"""
import os
import sys

import numpy as np

from benchmarks.detection import perturbations  # the benchmark's perturbations, in its order
from utils.flags import name_list


def main(folder):
    for name in name_list(perturbations):
        path = os.path.join(folder, 'scores', f'{name}.npz')
        saved = np.load(path) if os.path.isfile(path) else {}
        if 'recovery/G1/G1' not in saved:
            continue
        fake, real = saved['recovery/G1/G1'], saved['recovery/real/G1']
        under = np.flatnonzero(fake < 3.0)
        print(f'{name:>10}: {len(fake)} clips, lowest fake {fake.min():6.2f}, median fake '
              f'{np.median(fake):6.2f}, highest real {real.max():5.2f}, fakes under 3 dB {len(under)} '
              f'{under[:8].tolist()} {np.round(fake[under[:8]], 2).tolist()}{" ..." if len(under) > 8 else ""}')


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'logs/benchmarks/detection')
