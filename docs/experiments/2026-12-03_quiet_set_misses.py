"""The benchmark's 16-bit set at -20 dB (seed 3, 100 clips): hybrid recovery as the benchmark runs it, then, for each
clip not exact, its misfit and that of its true z's own fit, in units of the file's noise (16384 x step^2/12), and
where Gauss-Newton goes on from the recovered z when nothing stops it (docs/EXPERIMENTS.md, 2026-12-03).

    PYTHONPATH=. python docs/experiments/2026-12-03_quiet_set_misses.py [SET]
"""
import sys

import numpy as np

from benchmarks.clip_sets import synthesized_set
from models.wavegan import random_z, synthesize
from recovery.gauss_newton import Fit, gauss_newton, misfit
from recovery.profile import Profile
from recovery.recipe import Recipe
from recovery.recover import latent_floor, load_models, recover
from utils.metrics import exact_bound


def main(name):
    recipe = Recipe()
    models = load_models('hybrid', recipe, generator_dir='checkpoint',
                         inverse_path='inverse_mapping_checkpoint/inverse_mapping.keras',
                         classifier_path='classifier_checkpoint/classifier.keras')
    G = models.generator
    z = random_z(100, np.random.default_rng([3, 1]))  # the benchmark's clips at seed 3
    audio, floors = synthesized_set(name, synthesize(G, z), 'logs/experiments/quiet_set')
    profile = Profile()
    recovered = recover(audio, 'hybrid', models, recipe, floors=floors, profile=profile)
    print(profile.table(len(audio)))
    latent, as_close = latent_floor(G, audio, z, recovered, floors)
    error = np.mean((recovered.z - z) ** 2, axis=1)
    missed = np.flatnonzero((error > exact_bound(latent)) & ~as_close)
    print(f'{name}: {100 - len(missed)} of 100 exact; not exact: {missed.tolist()}')
    if not len(missed):
        return
    x, noise = audio[missed], 16384 * floors[missed]

    def misfit_in_noise(latents):
        return np.sum(misfit(synthesize(G, latents), x, np.ones_like(x), True)[0] ** 2, axis=1) / noise
    true_fit = gauss_newton(G, x, z[missed], Fit(iterations=6, enough_snr=np.inf), floor=floors[missed])
    on = gauss_newton(G, x, recovered.z[missed], Fit(iterations=12, enough_snr=np.inf, stall=0))
    for row, clip in enumerate(missed):
        print(f'clip {clip}: recovered latent MSE {error[clip]:.2g} (bound {exact_bound(latent)[clip]:.2g}), misfit '
              f'{misfit_in_noise(recovered.z[missed])[row]:.3f} noise; true z fitted {misfit_in_noise(true_fit.z)[row]:.3f}'
              f'; 12 more Jacobians {misfit_in_noise(on.z)[row]:.3f}, latent MSE '
              f'{np.mean((on.z[row] - z[clip]) ** 2):.2g}')


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'pcm16_quiet')
