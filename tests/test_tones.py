"""The generator's steady tones (recovery/tones.py): the speed a clip plays at, and where G put its word."""
import os

import numpy as np

from conftest import ROOT, real_takes, shipped_generator
from models.tf1_loader import load_generator
from models.wavegan import random_z, synthesize
from recovery.alignment import generator_words
from recovery.tones import fingerprint, played_speeds, tone_shifts, undo_speed
from utils.perturb import change_speed, shift


def test_the_generators_tones_tell_how_fast_and_where_its_clip_plays_and_real_speech_shows_none():
    """Clips the shipped generator made, played 5% slower to 5% faster, are read at their speed (to 0.05%) and
    slowed back to within 20 dB SNR of what G made; at speed 1 exactly 1; moved by up to 511 samples either way,
    the tones' phases say by how much (up to a multiple of 1024); real takes, as they are or 4% faster, match no
    speed and are left at 1, and neither they nor the second generator's clips have the generator's phases.
    Break: recovery/tones.py: `np.interp(bins[BAND[0]:BAND[1]] / f, bins, mean)` -> `np.interp(bins[BAND[0]:BAND[1]] * f, bins, mean)`
    Break: recovery/tones.py: `match.max(axis=1) >= MATCH` -> `match.max(axis=1) >= 0`
    Break: recovery/tones.py: `        out[changed] = change_speed(out[changed], 1 / speeds[changed])` -> `        out[changed] = change_speed(out[changed], speeds[changed])`
    Break: recovery/tones.py: `phasors(clips, bins) * np.conj(fingerprint['phases'])` -> `phasors(clips, bins) * fingerprint['phases']`
    Break: recovery/tones.py: `return np.where(best >= PERIOD // 2, best - PERIOD, best), agreement` -> `return best, agreement`
    Break: recovery/tones.py: `agreement.max(axis=-1) >= PHASES_AGREE` -> `agreement.max(axis=-1) >= 0`
    """
    generator = shipped_generator()
    tones = fingerprint(generator_words(generator))
    made = synthesize(generator, random_z(6, np.random.default_rng(21)))
    factors = np.array([0.95, 0.97, 0.99, 1.0, 1.03, 1.05])
    speeds, matched = played_speeds(change_speed(made, factors), tones)
    assert matched.all() and np.all(np.abs(speeds / factors - 1) <= 5e-4) and speeds[3] == 1
    undone = undo_speed(change_speed(made, factors), speeds)
    assert np.all(10 * np.log10(np.sum(made ** 2, axis=1) / (np.sum((undone - made) ** 2, axis=1) + 1e-30)) > 20)
    moves = np.array([0, 1, -37, 400, -511, 250])
    for moved in (moves, moves + 1024):  # where G made it, to the sample, up to a multiple of 1024
        found, own_tones = tone_shifts(shift(made, moved), tones)
        assert np.array_equal(found, moves) and own_tones.all()
    real = real_takes('3_theo_0.wav', '7_nicolas_2.wav', '0_jackson_0.wav', '5_yweweler_1.wav')
    for clips in (real, change_speed(real, 1.04)):
        speeds, matched = played_speeds(clips, tones)
        assert not matched.any() and np.all(speeds == 1) and not tone_shifts(clips, tones)[1].any()
    other = synthesize(load_generator(os.path.join(ROOT, 'checkpoint_seed1')), random_z(6, np.random.default_rng(21)))
    assert not tone_shifts(other, tones)[1].any()  # the second generator: the same tones, other phases
