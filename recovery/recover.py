"""Latent vector recovery: the inverse-mapping network, L-BFGS on z, or both (hybrid), by one Recipe."""
import time

import numpy as np
from tqdm import tqdm

from models.wavegan import LATENT_DIM, random_z, synthesize
from recovery.alignment import generator_onsets, place, search_shifts, typical_shifts
from recovery.gauss_newton import CONVERGED_SNR, HOPELESS_SNR, gauss_newton
from recovery.lbfgs import lbfgs
from recovery.losses import recovery_objective
from recovery.network_start import has_readout, network_start, refine_with_readout
from recovery.profile import Profile
from recovery.recipe import METHODS
from utils.metrics import snr_db


def recover(audio, method, generator, network, recipe, *, classifier=None, batch_size=32, seed=0, clip_ids=None,
            profile=None, desc=None):
    """Recover (z [N, 100], shift [N]) for clips [N, 16384] by 'network', 'gradient' or 'hybrid', batch_size
    clips at a time: each clip is shift(G(z), shift), G(z) moved `shift` samples later (0 for all clips
    when recipe.find_shift is off).

    With recipe.find_shift, each clip is first placed where G fits it best (recovery/alignment.py); the
    samples a placed clip does not hold are left out of every waveform fit. The start (the network's z,
    refined by recipe.refine_steps through its linear readout; or random) is refined by Gauss-Newton on
    the waveform, which finds z exactly when G can make the clip (with recipe.restarts, clips it leaves
    short start again from earlier points of the refinement, and clips stuck at the prior's bound with
    those coordinates redrawn). Clips still under recipe.fallback_snr dB get L-BFGS on the recipe's loss
    from the network's z, since a waveform fit is no start for a perceptual loss; those under HOPELESS_SNR
    (clips G cannot make, such as real speech) first have their word moved to where G's words start most
    often.
    With recipe.gauss_newton_iterations=0 every clip gets L-BFGS, as in the paper; with lbfgs_bounded
    every z stays in [-1, 1]. `classifier` is needed by the perceptual and paper losses.

    Every step of a batch sees that batch alone, and the random start of clip i comes from the stream
    (seed, clip_ids[i]): a worker that recovers some of the batches gets for them what one run gets.
    A Profile given as `profile` collects the seconds of each stage and the generator passes.
    """
    if method not in METHODS:
        raise ValueError(f'unknown recovery method {method!r}: expected one of {METHODS}')
    profile = profile or Profile()
    started = time.perf_counter()
    loss_fn = recovery_objective(recipe, classifier) if method != 'network' and recipe.max_iter else None
    ids = np.arange(len(audio)) if clip_ids is None else np.asarray(clip_ids)
    z = np.zeros((len(audio), LATENT_DIM), np.float32)
    shifts = np.zeros(len(audio), int)
    if recipe.find_shift:
        with profile.stage('shift search'):
            onsets = generator_onsets(generator)
    searched = recipe.find_shift and method != 'gradient' and has_readout(network)
    progress = tqdm(total=len(audio), desc=desc or f'recovering ({method})', unit='clip', leave=False)
    status = status_line(progress)
    for first in range(0, len(audio), batch_size):
        batch = slice(first, first + batch_size)
        clips = audio[batch]
        if searched:
            with profile.stage('shift search'):
                shifts[batch], start, z_batch = search_shifts(network, generator, clips, onsets,
                                                              refine_steps=recipe.refine_steps,
                                                              bounded=recipe.lbfgs_bounded, profile=profile)
        elif recipe.find_shift:
            shifts[batch] = typical_shifts(clips, onsets)
        placed, inside = place(clips, shifts[batch])
        if method == 'gradient':
            start = np.array([random_z(1, np.random.default_rng([seed, i]))[0] for i in ids[batch]])
            z_batch = start.copy()
        elif not searched:
            start, z_batch = network_start(network, generator, placed, recipe.refine_steps, recipe.lbfgs_bounded,
                                           profile, mask=inside)
        if method != 'network' and recipe.gauss_newton_iterations:
            z_batch, snr = gauss_newton(generator, placed, z_batch, recipe.gauss_newton_iterations,
                                        recipe.lbfgs_bounded, chord_steps=recipe.chord_steps, restarts=recipe.restarts,
                                        mask=inside, profile=profile, status=status)
            if method == 'hybrid' and recipe.restarts:
                z_batch, snr = start_again_from_earlier_starts(network, generator, placed, inside, start, z_batch, snr,
                                                               recipe, profile, status)
            unfit = snr < recipe.fallback_snr
            speech = unfit & (snr < HOPELESS_SNR)
        else:  # the network's z is kept where the search placed the clip; other methods have no exact fit
            unfit = speech = np.full(len(clips), method != 'network')
        if recipe.find_shift and speech.any():  # no z comes near them where the search put them: where G's words start
            moved = np.flatnonzero(speech)
            shifts[first + moved] = typical_shifts(clips[moved], onsets)
            placed[moved], inside[moved] = place(clips[moved], shifts[first + moved])
            if method != 'gradient':
                start[moved], z_batch[moved] = network_start(network, generator, placed[moved], recipe.refine_steps,
                                                             recipe.lbfgs_bounded, profile, mask=inside[moved])
        if method != 'network' and unfit.any() and recipe.max_iter:
            with profile.stage('L-BFGS'):
                z_batch[unfit] = lbfgs(generator, loss_fn, placed[unfit], start[unfit], recipe.max_iter,
                                       recipe.lbfgs_bounded, profile, status)
        z[batch] = z_batch
        progress.update(len(clips))
    progress.close()
    profile.total += time.perf_counter() - started
    return z, shifts


def status_line(progress, every=1.0):
    """A function that shows a line of what recovery is doing after the bar, at most once every `every` s
    (in a log, each refresh of the bar is another line)."""
    shown = [-every]

    def show(text):
        progress.set_postfix_str(text, refresh=False)
        if time.monotonic() - shown[0] >= every:
            shown[0] = time.monotonic()
            progress.refresh()
    return show


def start_again_from_earlier_starts(network, generator, clips, inside, start, z, snr, recipe, profile, status=None):
    """Clips that Gauss-Newton from the refined z left short of CONVERGED_SNR start again from the network's
    z refined by a quarter of the steps, then from the network's z as it is, where that start already fits
    the clip above HOPELESS_SNR (so real speech costs no Jacobian here); each clip keeps its best fit.
    The readout's steps can lead a clip into a wrong basin that an earlier point of them avoids. `inside` is
    the fit's mask (see gauss_newton)."""
    z, snr = z.copy(), snr.copy()
    for steps in (recipe.refine_steps // 4, 0):
        stuck = np.flatnonzero(snr < CONVERGED_SNR)
        if not len(stuck) or steps == recipe.refine_steps:
            continue
        with profile.stage('readout refinement'):
            other = refine_with_readout(network, generator, clips[stuck], start[stuck], steps, recipe.lbfgs_bounded,
                                        profile, mask=inside[stuck])
            promising = snr_db(clips[stuck], synthesize(generator, other, profile=profile) * inside[stuck]) >= HOPELESS_SNR
        stuck, other = stuck[promising], other[promising]
        if not len(stuck):
            continue
        again, again_snr = gauss_newton(generator, clips[stuck], other, recipe.gauss_newton_iterations,
                                        recipe.lbfgs_bounded, chord_steps=recipe.chord_steps,
                                        restarts=recipe.restarts, mask=inside[stuck], profile=profile, status=status)
        better = again_snr > snr[stuck]
        z[stuck[better]], snr[stuck[better]] = again[better], again_snr[better]
    return z, snr
