"""Deepfake detection by recovery: how closely a generator can make a clip, whatever its level, DC offset,
shift or clipped peaks (none of which changes who made it).

A clip is taken as gain * shift(G(z), s) + offset, with samples at a clipped peak unknown. The score is
the SNR in dB of the best such fit over the samples the clip holds: a clip G made scores far above any
real recording (30-40 dB; fitting stops at 40), real speech about 0, and added noise caps a fake's score
near the noise's SNR.
"""
import time

import numpy as np
from tqdm import tqdm

from recovery.alignment import generator_words, onsets_of, place, search_shifts
from recovery.gauss_newton import gauss_newton
from recovery.network_start import network_start
from recovery.profile import Profile

ITERATIONS = 4           # Jacobians a clip (a detector needs a close fit, not the exact z)
CHORD_STEPS = 8          # steps after each Jacobian that reuse it (see gauss_newton)
ENOUGH_SNR = 40.0        # dB: a fit this close settles it; Gauss-Newton stops there
GIVE_UP_SNR = 3.0        # dB: a clip still under this after PATIENCE Jacobians is not G's (real speech stays near 0)
PATIENCE = 2             # (recovery gives up after one; a noisy fake can need two)
REFINE_STEPS = 8         # readout steps on the network's z at each placement the search weighs (recovery: 32)
MARGIN = 0.0             # dB: a moved placement wins over the clip as it is when it fits better at all
LARGEST_SHIFT = 512      # samples: the shifts tried either way (a clip moved or padded by up to a few hundred)
CLIPPED_RUN = 2          # this many samples in a row at the clip's peak level mark a clipped peak


def clipped_samples(clips):
    """True at samples of a clipped peak: at the clip's largest magnitude, in a run of CLIPPED_RUN or more."""
    top = np.abs(clips).max(axis=1, keepdims=True)
    at_top = np.abs(clips) >= top * (1 - 1e-4)
    run = at_top.copy()
    for lag in range(1, CLIPPED_RUN):
        run[:, :-lag] &= at_top[:, lag:]
    clipped = run.copy()
    for lag in range(1, CLIPPED_RUN):
        clipped[:, lag:] |= run[:, :-lag]
    return clipped & (at_top.sum(axis=1, keepdims=True) >= CLIPPED_RUN)


def recovery_scores(clips, generator, network, *, batch_size=32, iterations=ITERATIONS,
                    refine_steps=REFINE_STEPS, enough_snr=ENOUGH_SNR, give_up_snr=GIVE_UP_SNR, patience=PATIENCE,
                    margin=MARGIN, largest_shift=LARGEST_SHIFT, profile=None, desc='scoring by recovery'):
    """Score clips [N, 16384] by how closely G makes them: a dict of arrays 'score' (SNR in dB), 'z' and
    'shift' (the clip is G(z) moved that many samples later, with a gain and offset); batch_size at a time.

    Each clip is brought to G's usual peak level with its median sample taken off (a first guess at
    gain and offset, for the network); the shift search places it where G fits it, moved by at most
    largest_shift samples either way (`margin`: see search_shifts), and Gauss-Newton fits
    gain * G(z) + offset over the samples the placed clip holds and that are not clipped, up to
    `iterations` Jacobians, stopping at enough_snr dB or, after `patience` Jacobians, under give_up_snr.
    A clip the search moved that ends under give_up_snr is fitted again as it is, unmoved, and keeps the
    better fit (a fake the search misplaced).
    """
    profile = profile or Profile()
    started = time.perf_counter()
    words = generator_words(generator)  # where G starts its words, and how loud it makes them
    onsets, peak = onsets_of(words), float(np.median(np.abs(words).max(axis=1)))
    parts = []
    for first in tqdm(range(0, len(clips), batch_size), desc=desc, unit='batch', leave=False):
        batch = clips[first:first + batch_size]
        centred = batch - np.median(batch, axis=1, keepdims=True)
        leveled = centred * (peak / (np.abs(centred).max(axis=1, keepdims=True) + 1e-12))
        with profile.stage('shift search'):
            shifts, _, z = search_shifts(network, generator, leveled, onsets, refine_steps=refine_steps,
                                         margin=margin, largest=largest_shift, judge=False,
                                         profile=profile)
        z, score = fit_placed(generator, batch, leveled, shifts, z, iterations, enough_snr, give_up_snr, patience,
                              profile)
        again = np.flatnonzero((score < give_up_snr) & (shifts != 0))
        if len(again):  # moved, and G fits them nowhere near: the clip as it is may be a fake the search misplaced
            _, z_again = network_start(network, generator, leveled[again], refine_steps, profile=profile)
            z_again, score_again = fit_placed(generator, batch[again], leveled[again], np.zeros(len(again), int),
                                              z_again, iterations, enough_snr, give_up_snr, patience, profile)
            won = score_again > score[again]
            z[again[won]], score[again[won]], shifts[again[won]] = z_again[won], score_again[won], 0
        parts.append({'score': score, 'z': z, 'shift': shifts})
    profile.total += time.perf_counter() - started
    return {key: np.concatenate([part[key] for part in parts]) for key in ('score', 'z', 'shift')} if parts else {}


def fit_mask(clips, shifts):
    """1 at the samples of the clips placed at `shifts` that came from inside them and are not clipped."""
    return place((~clipped_samples(clips)).astype(np.float32), shifts)[0]


def fit_placed(generator, clips, leveled, shifts, z, iterations, enough_snr, give_up_snr, patience, profile):
    """Gauss-Newton from z on gain * G(z) + offset against the leveled clips placed at `shifts`, over the
    samples they hold that are not clipped in `clips`: (z, each clip's SNR in dB)."""
    mask = fit_mask(clips, shifts)
    return gauss_newton(generator, place(leveled, shifts)[0] * mask, z, iterations, converged_snr=enough_snr,
                        patience=patience, hopeless_snr=give_up_snr, chord_steps=CHORD_STEPS, mask=mask,
                        profile=profile, affine=True)

