"""How well recovery's shift search finds where a clip G made was moved (issue 19), with the shipped models.

Prints (1) of 200 clips G made, left where they are, those the search moves; (2) of 48 clips G made and
then moved (8 each by 0, 1, 37, 400 and -200 samples, 8 by random shifts in [-1500, 6000)), the share
whose shift hybrid recovery reports right and the share recovered exactly, with where the time went.

    PYTHONPATH=. python docs/experiments/2026-11-30_shift_search.py
"""
import time

import numpy as np

from models.wavegan import random_z, synthesize
from recovery.alignment import Search, generator_onsets, search_shifts
from recovery.profile import Profile
from recovery.recipe import Recipe
from recovery.recover import load_models, recover
from utils.metrics import latent_mse
from utils.perturb import shift


def main():
    recipe = Recipe()
    models = load_models('hybrid', recipe, generator_dir='checkpoint',
                         inverse_path='inverse_mapping_checkpoint/inverse_mapping.keras',
                         classifier_path='classifier_checkpoint/classifier.keras')
    G, N = models.generator, models.network
    unmoved = synthesize(G, random_z(200, np.random.default_rng([0, 1])))
    found, _, _ = search_shifts(N, G, unmoved, generator_onsets(G), search=Search(refine_steps=32))
    print(f'200 unmoved clips: the search moves {np.flatnonzero(found).tolist()} by {found[found != 0].tolist()}')

    rng = np.random.default_rng(4242)
    z = random_z(48, rng)
    moves = np.concatenate([np.zeros(8, int), [1] * 8, [37] * 8, [400] * 8, [-200] * 8, rng.integers(-1500, 6000, 8)])
    clips = shift(synthesize(G, z), moves)
    profile, started = Profile(), time.perf_counter()
    recovered = recover(clips, 'hybrid', models, recipe, profile=profile)
    print(f'{(time.perf_counter() - started) / len(clips):.2f} s a clip')
    print(profile.table(len(clips)))
    error = latent_mse(z, recovered.z)
    print(f'shift right {np.mean(recovered.shift == moves):.1%}, exact (latent MSE <= 1e-6) {np.mean(error <= 1e-6):.1%}')
    for true, got, e in zip(moves, recovered.shift, error):
        if true != got or e > 1e-6:
            print(f'  moved {true}: reported {got}, latent MSE {e:.2g}')


if __name__ == '__main__':
    main()
