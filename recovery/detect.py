"""Deepfake detection by recovery: how closely a generator can make a clip, whatever its level, DC offset,
shift, speed or clipped peaks (none of which changes who made it).

A clip is taken as gain * shift(G(z), s) + offset played at some speed, with samples at a clipped peak
unknown; the generator's steady tones (recovery/tones.py) tell the speed and, in clips with its phases,
the shift up to a multiple of 1024 samples. The score is the SNR in dB of the best such fit over the
samples the clip holds: a clip G made scores far above any real recording (30-40 dB; fitting stops at 40),
real speech about 0, and added noise caps a fake's score near the noise's SNR.
"""
import dataclasses
import time

import numpy as np
from tqdm import tqdm

from recovery.alignment import Search, generator_words, level, onsets_of, place, search_shifts, typical_peak
from recovery.gauss_newton import Fit, gauss_newton
from recovery.network_start import network_start
from recovery.profile import Profile
from recovery.tones import fingerprint, played_speeds, tone_shifts, undo_speed

FIT = Fit(
    iterations=4,        # Jacobians a clip (a detector needs a close fit, not the exact z)
    chord_steps=8,       # steps after each Jacobian that reuse it (see gauss_newton)
    enough_snr=40.0,     # dB: a fit this close settles it; Gauss-Newton stops there
    hopeless_snr=3.0,    # dB: a clip still under this after `patience` Jacobians is not G's (real speech stays near 0)
    patience=2,          # (recovery gives up after one; a noisy fake can need two)
    stall=0.0,           # a slow climb goes on to the end: a quiet fake can rise little at first
    affine=True)         # gain * G(z) + offset: a clip's level and DC offset do not say who made it
SEARCH = Search(
    refine_steps=8,      # readout steps on the network's z at each placement weighed (recovery: 32)
    margin=0.0,          # dB: a moved placement wins over the clip as it is when it fits better at all
    largest=512,         # samples: the shifts tried either way (a clip moved or padded by up to a few hundred)
    judge=False)         # the fit after the search tells close placements apart
OWN_TONES_PATIENCE = 8   # Jacobians before giving up on a clip with the generator's tone phases (recovery/tones.py)
CLIPPED_RUN = 2          # this many samples in a row at the clip's peak level mark a clipped peak


@dataclasses.dataclass(frozen=True)
class Scoring:
    """How recovery_scores fits clips: the fit, the shift search, and how long a clip with G's tones is given."""
    fit: Fit = FIT
    search: Search = SEARCH
    own_tones_patience: int = OWN_TONES_PATIENCE

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


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


def recovery_scores(clips, generator, network, *, scoring=Scoring(), batch_size=32, profile=None,
                    desc='scoring by recovery'):
    """Score clips [N, 16384] by how closely G makes them: a dict of arrays 'score' (SNR in dB), 'z', 'shift'
    and 'speed' (the clip is G(z) moved `shift` samples later, with a gain and offset, played `speed` times
    as fast: change_speed(shift(G(z), shift), speed)); batch_size at a time.

    Each clip is slowed back down to the generator's speed when the generator's tones say it was played
    faster or slower (played_speeds), and brought to G's usual peak level with its median sample taken off
    (a first guess at gain and offset, for the network); the shift search places it where G fits it, as
    scoring.search says (see search_shifts), starting from where the tones'
    phases put it when they are the generator's (tone_shifts), and Gauss-Newton fits
    gain * G(z) + offset over the samples the placed clip holds and that are not clipped, by scoring.fit (up to
    fit.iterations Jacobians, stopping at fit.enough_snr dB or, after fit.patience Jacobians, under
    fit.hopeless_snr). A clip whose tones' phases are the generator's is placed where they say (only there, up
    to multiples of 1024) and, if it still ends under hopeless_snr, goes on from its fit up to
    scoring.own_tones_patience Jacobians in all (a quiet fake can climb slowly; real speech and other
    generators' clips, whose phases are not, cost nothing more). Any other clip the search moved or slowed that
    ends under hopeless_snr is fitted again as it is, and keeps the better fit (a fake the search misplaced).
    """
    profile = profile or Profile()
    fit, refine_steps, own_tones_patience = scoring.fit, scoring.search.refine_steps, scoring.own_tones_patience
    started = time.perf_counter()
    words = generator_words(generator)  # where G starts its words, how loud it makes them, the tones it leaves
    onsets, peak, tones = onsets_of(words), typical_peak(words), fingerprint(words)
    placing = fit.replace(affine=False)  # the search weighs placements of the leveled clip by the plain fit
    parts = []
    for first in tqdm(range(0, len(clips), batch_size), desc=desc, unit='batch', leave=False):
        batch = clips[first:first + batch_size]
        with profile.stage('tones'):
            speeds, _ = played_speeds(batch, tones)
            leveled = level(undo_speed(batch, speeds), peak)
            residues, own_tones = tone_shifts(leveled, tones)  # own_tones: the phases are this generator's
        with profile.stage('shift search'):
            shifts, _, z = search_shifts(network, generator, leveled, onsets, search=scoring.search, fit=placing,
                                         residues=np.where(own_tones, residues, np.nan), profile=profile)
        z, score = fit_as(generator, batch, speeds, shifts, z, fit, peak, profile)
        again = np.flatnonzero((score < fit.hopeless_snr) & ((shifts != 0) | (speeds != 1)) & ~own_tones)
        if len(again):  # moved or slowed, and G fits them nowhere near: the clip as it is may be a fake misplaced
            _, z_again = network_start(network, generator, level(batch[again], peak), refine_steps, profile=profile)
            z_again, score_again = fit_as(generator, batch[again], np.ones(len(again)), np.zeros(len(again), int),
                                          z_again, fit, peak, profile)
            better = score_again > score[again]
            won = again[better]
            z[won], score[won], shifts[won], speeds[won] = z_again[better], score_again[better], 0, 1
        slow = np.flatnonzero(own_tones & (score < fit.hopeless_snr))
        if len(slow) and own_tones_patience > fit.patience:  # G's tones, but not yet G's waveform: go on
            more = own_tones_patience - fit.patience
            z_more, score_more = fit_as(generator, batch[slow], speeds[slow], shifts[slow], z[slow],
                                        fit.replace(iterations=more, patience=more), peak, profile)
            better = score_more > score[slow]
            z[slow[better]], score[slow[better]] = z_more[better], score_more[better]
        parts.append({'score': score, 'z': z, 'shift': shifts, 'speed': speeds})
    profile.total += time.perf_counter() - started
    keys = ('score', 'z', 'shift', 'speed')
    return {key: np.concatenate([part[key] for part in parts]) for key in keys} if parts else {}


def fit_as(generator, clips, speeds, shifts, z, fit, peak, profile=None):
    """Gauss-Newton by `fit` from z on gain * G(z) + offset against the clips slowed back from `speeds`, leveled to
    `peak` and placed at `shifts`, over the samples they hold that are not clipped: (z, each clip's SNR in dB)."""
    heard = undo_speed(clips, speeds)
    mask = place((~clipped_samples(heard)).astype(np.float32), shifts)[0]
    fitted = gauss_newton(generator, place(level(heard, peak), shifts)[0] * mask, z, fit, mask=mask, profile=profile)
    return fitted.z, fitted.snr
