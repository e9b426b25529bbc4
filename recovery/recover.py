"""Latent vector recovery: the inverse-mapping network, L-BFGS on z, or both (hybrid), by one Recipe."""
import time
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from models.resnet import load_classifier, load_inverse_mapping
from models.tf1_loader import load_generator
from models.training import load_level_free_readout
from models.wavegan import LATENT_DIM, random_z, synthesize
from recovery.alignment import (DECISIVE_SNR, Search, generator_words, level, leveling, onsets_of, place,
                                search_shifts, typical_peak, typical_shifts)
from recovery.gauss_newton import HOPELESS_SNR, Fit, Fitted, gauss_newton, masked_snr, misfit
from recovery.lbfgs import lbfgs
from recovery.losses import recovery_objective
from recovery.network_start import LEAST_GAIN, has_readout, leveled_start, network_start, refine_with_readout
from recovery.profile import Profile
from recovery.recipe import METHODS
from recovery.tones import fingerprint, tone_shifts
from utils.metrics import clip_measures
from utils.perturb import shift


class Models(NamedTuple):
    """What recovery recovers with: the generator G; the inverse-mapping network (None for gradient-only) and its
    level-free readout (models.training.fit_level_free_readout; None: clips at another level are read as they
    are); the classifier, which the perceptual and the paper's losses need (None: neither)."""
    generator: object
    network: object = None
    level_free: tuple = None
    classifier: object = None


def load_models(method, recipe, *, generator_dir, inverse_path, classifier_path):
    """The Models that recovering by `method` with `recipe` needs, loaded from their files."""
    network = load_inverse_mapping(inverse_path) if method != 'gradient' else None
    return Models(load_generator(generator_dir), network,
                  load_level_free_readout(inverse_path) if network is not None else None,
                  load_classifier(classifier_path) if recipe.needs_classifier and method != 'network' else None)


class Recovered(NamedTuple):
    """Each clip as recovery explains it: gain * shift(G(z), shift) + offset, and whether its fit reached the
    clip's noise floor (done: its z is G's own, as closely as the clip's file allows)."""
    z: np.ndarray       # [N, 100]
    shift: np.ndarray   # [N] samples G(z) is moved later
    gain: np.ndarray    # [N]
    offset: np.ndarray  # [N]
    done: np.ndarray    # [N] bool

    def placed(self, generator, batch_size=64):
        """G's own clips, placed [N, 16384]: shift(G(z), shift)."""
        return shift(synthesize(generator, self.z, batch_size), self.shift)

    def leveled(self, placed):
        """The placed clips at each clip's level: gain * placed + offset."""
        return (self.gain[:, None] * placed + self.offset[:, None]).astype(np.float32)

    def rebuild(self, generator, batch_size=64):
        """The clips as recovery explains them [N, 16384]: gain * shift(G(z), shift) + offset."""
        return self.leveled(self.placed(generator, batch_size))


def recover(audio, method, models, recipe, *, floors=None, batch_size=32, seed=0, clip_ids=None, profile=None,
            desc=None):
    """Recover each clip [N, 16384] by 'network', 'gradient' or 'hybrid', batch_size clips at a time: a Recovered,
    each clip taken as gain * shift(G(z), shift) + offset (gain 1, offset 0 and shift 0 for all clips when
    recipe.level and recipe.find_shift are off).

    With recipe.level, every fit finds each clip's best gain and offset, and the network's start is read at
    the clip's level (recovery/network_start.leveled_start). With recipe.find_shift, a clip that this start
    does not already fit where it is (DECISIVE_SNR) is placed where G fits it best (recovery/alignment.py; the
    generator's tones place its own clips, recovery/tones.py); the samples a placed clip does not hold are
    left out of every waveform fit. The start (the network's z, refined by recipe.refine_steps through its
    linear readout; or random) is refined by Gauss-Newton on the waveform, which finds z exactly when G can
    make the clip: a clip is done when its misfit reaches its noise floor, `floors` [N] (the variance per
    sample of the noise its file's format adds, utils.audio.noise_floor; None: float clips; NaN: a lossy
    file, done where its fit settles). With recipe.restarts, clips it leaves above that start again from
    earlier points of the refinement, and clips stuck at the prior's bound with those coordinates redrawn.
    Clips still under recipe.fallback_snr dB get L-BFGS on the recipe's loss from the network's z, on the clip
    brought to G's usual peak (its gain and offset then that leveling's); those under HOPELESS_SNR (clips G
    cannot make, such as real speech) first have their word moved to where G's words start most often.
    With recipe.gauss_newton_iterations=0 every clip gets L-BFGS, as in the paper; with bounded_z
    every z stays in [-1, 1]. `models` are the Models it uses.

    Every step of a batch sees that batch alone, and the random start of clip i comes from the stream
    (seed, clip_ids[i]): a worker that recovers some of the batches gets for them what one run gets.
    A Profile given as `profile` collects the seconds of each stage and the generator passes.
    """
    if method not in METHODS:
        raise ValueError(f'unknown recovery method {method!r}: expected one of {METHODS}')
    profile = profile or Profile()
    started = time.perf_counter()
    with profile.stage('L-BFGS'):  # the loss's model of the classifier's layers
        loss_fn = recovery_objective(recipe, models.classifier) if method != 'network' and recipe.max_iter else None
    ids = np.arange(len(audio)) if clip_ids is None else np.asarray(clip_ids)
    floors = np.zeros(len(audio)) if floors is None else np.asarray(floors, np.float64)
    with profile.stage('shift search'):
        words = generator_words(models.generator)  # where G starts its words, how loud it makes them, its tones
    with profile.stage('tones'):
        tones = fingerprint(words)
    context = Context(models, recipe, typical_peak(words), onsets_of(words), tones, loss_fn, profile)
    parts = []
    progress = tqdm(total=len(audio), desc=desc or f'recovering ({method})', unit='clip', leave=False)
    status = status_line(progress)
    for first in range(0, len(audio), batch_size):
        batch = slice(first, first + batch_size)
        parts.append(recover_batch(audio[batch], floors[batch], ids[batch], method, context, seed, status))
        progress.update(len(audio[batch]))
    progress.close()
    profile.total += time.perf_counter() - started
    return Recovered(*(np.concatenate(field) for field in zip(*parts))) if parts else Recovered(
        np.zeros((0, LATENT_DIM), np.float32), np.zeros(0, int), np.ones(0), np.zeros(0), np.zeros(0, bool))


class Context(NamedTuple):
    """What recovering every batch of a run takes: the Models, the recipe, what the generator's words tell
    (their usual peak, their onsets, their tones), the L-BFGS loss and the Profile."""
    models: Models
    recipe: object
    peak: float
    onsets: np.ndarray
    tones: dict
    loss_fn: object
    profile: Profile


def placed_starts(clips, own_tones, residues, context):
    """(shifts, network z, refined z) of clips that the network reads: each clip where it is, or, unless its start
    already fits it there (DECISIVE_SNR) or it has the generator's tones where G puts them (`own_tones` and
    `residues`, from tone_shifts) and its start is near (HOPELESS_SNR), where the shift search places it
    (recipe.find_shift; the tones place G's own clips up to a multiple of 1024 samples)."""
    (generator, network, level_free, _), recipe, profile = context.models, context.recipe, context.profile
    start, z, snr = leveled_start(network, level_free, generator, clips, recipe.refine_steps, recipe.fit,
                                  settled_snr=DECISIVE_SNR, profile=profile)
    shifts = np.zeros(len(clips), int)
    searched = recipe.find_shift and has_readout(network)
    unmoved = own_tones & (residues == 0) & (snr >= HOPELESS_SNR)  # G's tones where G puts them, and a start near
    search = np.flatnonzero((snr < DECISIVE_SNR) & ~unmoved) if searched else np.zeros(0, int)
    if not len(search):
        return shifts, start, z
    with profile.stage('shift search'):
        shifts[search] = search_shifts(network, generator, level(clips[search], context.peak), context.onsets,
                                       search=Search(refine_steps=recipe.refine_steps), fit=recipe.fit,
                                       residues=np.where(own_tones[search], residues[search], np.nan),
                                       profile=profile)[0]
    moved = search[shifts[search] != 0]
    if len(moved):  # each moved clip's start at its clip's level there; it stays unless that fits it better
        placed, inside = place(clips[moved], shifts[moved])
        with profile.stage('shift search'):
            there = leveled_start(network, level_free, generator, placed, recipe.refine_steps, recipe.fit,
                                  settled_snr=DECISIVE_SNR, profile=profile, mask=inside)
        better = there[2] > snr[moved]
        start[moved[better]], z[moved[better]] = there[0][better], there[1][better]
        shifts[moved[~better]] = 0
    return shifts, start, z


def recover_batch(clips, floors, ids, method, context, seed, status):
    """recover's work on one batch of clips: a Recovered."""
    (generator, network, _, _), recipe, profile = context.models, context.recipe, context.profile
    fit = recipe.fit
    with profile.stage('tones'):  # level-free: whether the generator's tones are in each clip, and where
        residues, own_tones = tone_shifts(level(clips, context.peak), context.tones)
    if method == 'gradient':
        start = np.array([random_z(1, np.random.default_rng([seed, i]))[0] for i in ids])
        z = start.copy()
        shifts = typical_shifts(clips, context.onsets) if recipe.find_shift else np.zeros(len(clips), int)
    else:
        shifts, start, z = placed_starts(clips, own_tones, residues, context)
    placed, inside = place(clips, shifts)
    if method != 'network' and recipe.gauss_newton_iterations:
        fitted = gauss_newton(generator, placed, z, fit, mask=inside, floor=floors, profile=profile, status=status)
        slow = np.flatnonzero(own_tones & (fitted.snr < fit.hopeless_snr))
        if len(slow):  # the generator's tones, not yet its waveform: a quiet clip of G's can climb slowly
            more = fit.replace(patience=fit.iterations)
            fitted = fitted.put(slow, gauss_newton(generator, placed[slow], fitted.z[slow], more, mask=inside[slow],
                                                   floor=floors[slow], profile=profile, status=status))
        if method == 'hybrid' and recipe.restarts:
            fitted = start_again_from_earlier_starts(network, generator, placed, inside, floors, start, fitted, recipe,
                                                     profile, status)
        unfit = fitted.snr < recipe.fallback_snr
        speech = unfit & (fitted.snr < HOPELESS_SNR) & ~own_tones
    else:  # the network's z is kept where the search placed the clip; other methods have no exact fit
        _, gain, offset = misfit(synthesize(generator, z, profile=profile), placed, inside, fit.affine)
        fitted = Fitted(z, np.full(len(z), np.nan), gain, offset, np.zeros(len(z), bool))
        unfit = np.full(len(clips), method != 'network')
        speech = unfit & ~own_tones
    z, gain, offset = fitted.z.copy(), fitted.gain.copy(), fitted.offset.copy()
    if recipe.find_shift and speech.any():  # no z comes near them where the search put them: where G's words start
        moved = np.flatnonzero(speech)
        shifts[moved] = typical_shifts(clips[moved], context.onsets)
        placed[moved], inside[moved] = place(clips[moved], shifts[moved])
    if method != 'network' and unfit.any() and recipe.max_iter:
        lost = np.flatnonzero(unfit)  # on each clip brought to G's usual peak: its gain and offset are that leveling's
        scale, centre = leveling(placed[lost], context.peak) if recipe.level else (np.ones(len(lost)),
                                                                                   np.zeros(len(lost)))
        at_g_level = (placed[lost] - centre[:, None]) * scale[:, None] * inside[lost]
        if method != 'gradient':
            start[lost], _ = network_start(network, generator, at_g_level, recipe.refine_steps, fit.bounded_z,
                                           profile, mask=inside[lost])
        with profile.stage('L-BFGS'):
            z[lost] = lbfgs(generator, context.loss_fn, at_g_level, start[lost], recipe.max_iter, fit.bounded_z,
                            profile, status)
        gain[lost], offset[lost] = 1 / scale, centre
    return Recovered(z, shifts, gain, offset, fitted.done & ~unfit)


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


def start_again_from_earlier_starts(network, generator, clips, inside, floors, start, fitted, recipe, profile,
                                    status=None):
    """Clips that Gauss-Newton from the refined z left short of done start again from the network's z refined by
    a quarter of the steps, then from the network's z as it is, where that start already fits the clip above
    HOPELESS_SNR (so real speech costs no Jacobian here); each clip keeps its best fit (a Fitted).
    The readout's steps can lead a clip into a wrong basin that an earlier point of them avoids; they read the
    clip at G's level, by the gain and offset of its fit. `inside` is the fit's mask (see gauss_newton)."""
    fit = recipe.fit
    for steps in (recipe.refine_steps // 4, 0):
        stuck = np.flatnonzero(~fitted.done)
        if not len(stuck) or steps == recipe.refine_steps:
            continue
        gain = np.where(fitted.gain[stuck] > LEAST_GAIN, fitted.gain[stuck], 1.0)
        at_g_level = (clips[stuck] - fitted.offset[stuck, None]) / gain[:, None] * inside[stuck]
        with profile.stage('readout refinement'):
            other = refine_with_readout(network, generator, at_g_level, start[stuck], steps, fit.bounded_z,
                                        profile, mask=inside[stuck])
            promising = masked_snr(generator, clips[stuck], other, inside[stuck], fit.affine, profile) >= HOPELESS_SNR
        stuck, other = stuck[promising], other[promising]
        if not len(stuck):
            continue
        again = gauss_newton(generator, clips[stuck], other, fit, mask=inside[stuck], floor=floors[stuck],
                             profile=profile, status=status)
        better = again.snr > fitted.snr[stuck]
        fitted = fitted.put(stuck[better], again.take(better))
    return fitted


def latent_floor(generator, audio, z_true, recovered, floors, iterations=6):
    """What each clip's file leaves of its true z: (the latent MSE of the true z's own best fit, placed and with its
    gain and offset as recovered; whether the recovered z fits the clip at least as closely as that fit does).

    For clips whose file rounds to a step (`floors` above 0, see utils.audio.noise_floor) and whose true z is
    known. The latent MSE is 0 for float files, where nothing is lost, and where that fit does not reach the
    floor (the clip was not placed where G made it); NaN where the loss is no rounding (lossy codecs), which leave
    no exact z to reach. A z that fits a rounded clip as closely as its true z does, to within one noise variance
    a latent coordinate, is one the file cannot tell from it."""
    latent = np.where(np.isnan(floors), np.nan, 0.0)
    as_close = np.zeros(len(audio), bool)
    rounded = np.flatnonzero((np.nan_to_num(floors) > 0) & np.isfinite(z_true).all(axis=1))
    if len(rounded):
        placed, inside = place(audio[rounded], recovered.shift[rounded])
        converged = Fit(iterations=iterations, enough_snr=np.inf)  # on to where a step no longer lowers the misfit
        fitted = gauss_newton(generator, placed, z_true[rounded], converged, mask=inside, floor=floors[rounded])
        latent[rounded] = np.where(fitted.done, np.mean((fitted.z - z_true[rounded]) ** 2, axis=1), 0.0)
        own = np.sum(misfit(synthesize(generator, recovered.z[rounded]), placed, inside, True)[0] ** 2, axis=1)
        true = np.sum(placed.astype(np.float64) ** 2, axis=1) * 10 ** (-fitted.snr / 10)
        as_close[rounded] = fitted.done & (own <= true + LATENT_DIM * floors[rounded])
    return latent, as_close


def measure(generator, audio, recovered, *, floors=None, z_true=None, kinds=None, classify=None, labels=None):
    """Rebuild the clips as recovered and measure them: (per-clip measures, as utils.metrics.clip_measures
    makes them, with each clip's gain, offset and whether it is done, and what its file leaves of its true z
    (latent_floor) where that is known; the reconstructions [N, 16384]). `classify` maps clips to the
    classifier's probabilities, for accuracy against `labels`: it hears the placed G(z), whose digit z says,
    not the clip's DC offset (a 0.01 offset alone turns its answers)."""
    placed = recovered.placed(generator)  # G(z) computed once, for the reconstructions and the classifier
    reconstructions = recovered.leveled(placed)
    probabilities = classify(placed) if classify else None
    measures = clip_measures(audio, reconstructions, probabilities, labels, z_true, recovered.z, kinds, recovered.shift)
    measures.update(gain=recovered.gain, offset=recovered.offset, done=recovered.done)
    if z_true is not None:
        floors = np.zeros(len(audio)) if floors is None else np.asarray(floors, np.float64)
        measures['latent_floor'], measures['as_close_as_true'] = latent_floor(
            generator, audio, np.asarray(z_true, np.float32), recovered, floors)
    return measures, reconstructions
