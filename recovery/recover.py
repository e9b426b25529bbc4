"""Latent vector recovery: the inverse-mapping network, L-BFGS on z, or both (hybrid), by one Recipe."""
import time

import numpy as np
from tqdm import tqdm

from models.wavegan import LATENT_DIM, random_z, synthesize
from recovery.gauss_newton import CONVERGED_SNR, HOPELESS_SNR, gauss_newton
from recovery.lbfgs import lbfgs
from recovery.losses import recovery_objective
from recovery.network_start import predict_z, refine_with_readout
from recovery.profile import Profile
from recovery.recipe import METHODS
from utils.metrics import snr_db


def recover(audio, method, generator, network, recipe, *, classifier=None, batch_size=32, seed=0, clip_ids=None,
            profile=None, desc=None):
    """Recover z [N, 100] for clips [N, 16384] by 'network', 'gradient' or 'hybrid', batch_size clips at a time.

    The start (the network's z, refined by recipe.refine_steps through its linear readout; or random)
    is refined by Gauss-Newton on the waveform, which finds z exactly when G can make the clip (with
    recipe.restarts, clips it leaves short start again from earlier points of the refinement, and
    clips stuck at the prior's bound with those coordinates redrawn). Clips still under
    recipe.fallback_snr dB (clips G cannot make, such as real speech) get L-BFGS on the recipe's loss
    from the start before refinement, since a waveform fit is no start for a perceptual loss. With
    recipe.gauss_newton_iterations=0 every clip gets L-BFGS, as in the paper; with lbfgs_bounded every
    z stays in [-1, 1]. `classifier` is needed by the perceptual and paper losses.

    Every step of a batch sees that batch alone, and the random start of clip i comes from the stream
    (seed, clip_ids[i]): a worker that recovers some of the batches gets for them what one run gets.
    A Profile given as `profile` collects the seconds of each stage and the generator passes.
    """
    if method not in METHODS:
        raise ValueError(f'unknown recovery method {method!r}: expected one of {METHODS}')
    profile = profile or Profile()
    started = time.perf_counter()
    bounded = recipe.lbfgs_bounded
    loss_fn = recovery_objective(recipe, classifier) if method != 'network' and recipe.max_iter else None
    ids = np.arange(len(audio)) if clip_ids is None else np.asarray(clip_ids)
    z = np.zeros((len(audio), LATENT_DIM), np.float32)
    progress = tqdm(total=len(audio), desc=desc or f'recovering ({method})', unit='clip', leave=False)
    status = status_line(progress)
    for first in range(0, len(audio), batch_size):
        batch = slice(first, first + batch_size)
        clips = audio[batch]
        if method == 'gradient':
            start = np.array([random_z(1, np.random.default_rng([seed, i]))[0] for i in ids[batch]])
            z_batch = start.copy()
        else:
            with profile.stage('network'):
                start = predict_z(network, clips)
            if bounded:  # WaveGAN's prior: projecting onto it never moves z away from a true z
                start = np.clip(start, -1, 1)
            with profile.stage('readout refinement'):
                z_batch = refine_with_readout(network, generator, clips, start, recipe.refine_steps, bounded, profile)
        unfit = np.full(len(clips), method != 'network')
        if method != 'network' and recipe.gauss_newton_iterations:
            z_batch, snr = gauss_newton(generator, clips, z_batch, recipe.gauss_newton_iterations, bounded,
                                        chord_steps=recipe.chord_steps, restarts=recipe.restarts, profile=profile,
                                        status=status)
            if method == 'hybrid' and recipe.restarts:
                z_batch, snr = start_again_from_earlier_starts(network, generator, clips, start, z_batch, snr, recipe,
                                                               profile, status)
            unfit = snr < recipe.fallback_snr
        if unfit.any() and recipe.max_iter:
            with profile.stage('L-BFGS'):
                z_batch[unfit] = lbfgs(generator, loss_fn, clips[unfit], start[unfit], recipe.max_iter, bounded,
                                       profile, status)
        z[batch] = z_batch
        progress.update(len(clips))
    progress.close()
    profile.total += time.perf_counter() - started
    return z


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


def start_again_from_earlier_starts(network, generator, clips, start, z, snr, recipe, profile, status=None):
    """Clips that Gauss-Newton from the refined z left short of CONVERGED_SNR start again from the network's
    z refined by a quarter of the steps, then from the network's z as it is, where that start already fits
    the clip above HOPELESS_SNR (so real speech costs no Jacobian here); each clip keeps its best fit.
    The readout's steps can lead a clip into a wrong basin that an earlier point of them avoids."""
    z, snr = z.copy(), snr.copy()
    for steps in (recipe.refine_steps // 4, 0):
        stuck = np.flatnonzero(snr < CONVERGED_SNR)
        if not len(stuck) or steps == recipe.refine_steps:
            continue
        with profile.stage('readout refinement'):
            other = refine_with_readout(network, generator, clips[stuck], start[stuck], steps, recipe.lbfgs_bounded,
                                        profile)
            promising = snr_db(clips[stuck], synthesize(generator, other, profile=profile)) >= HOPELESS_SNR
        stuck, other = stuck[promising], other[promising]
        if not len(stuck):
            continue
        again, again_snr = gauss_newton(generator, clips[stuck], other, recipe.gauss_newton_iterations,
                                        recipe.lbfgs_bounded, chord_steps=recipe.chord_steps,
                                        restarts=recipe.restarts, profile=profile, status=status)
        better = again_snr > snr[stuck]
        z[stuck[better]], snr[stuck[better]] = again[better], again_snr[better]
    return z, snr
