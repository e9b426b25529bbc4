"""Where the word is: the shift that places a clip where the generator makes its words, found before recovery.

A clip's `shift` s says that the clip is G(z) moved s samples later: recovery fits G(z) to
`place(clip, s)` (the clip moved s samples earlier) over the samples that came from inside the clip,
and `shift(G(z), s)` lays the reconstruction back over the original.
"""
import dataclasses

import numpy as np

from models.wavegan import random_z, synthesize
from recovery.gauss_newton import Fit, gauss_newton, masked_snr
from recovery.network_start import network_start
from utils.perturb import HOP, shift, word_onset

PERIOD = 1024       # WaveGAN upsamples 16 frames of 1024 samples: shifts by multiples of this look alike to it
SHORTLIST = 8       # shifts whose readout z looks most like the prior's and that G then judges
CLEAR_MARGIN = 6.0  # dB: refined fits closer than this do not tell shifts apart
DECISIVE_SNR = 30.0  # dB: a refined fit this good does
JUDGE_ITERATIONS = 2  # Gauss-Newton steps that tell apart two shifts the refined fits do not
LOCAL_SHIFTS = 512  # shifts up to this many samples either way are always candidates (a clip moved a little)
ONSET_CLIPS = 256   # random G(z) whose words show where the generator puts its words


@dataclasses.dataclass(frozen=True)
class Search:
    """How the shift search weighs placements: every setting of one search, passed whole (see search_shifts)."""
    refine_steps: int = 32          # readout steps on the network's z at each placement weighed
    shortlist: int = SHORTLIST      # shifts whose readout z looks most like the prior's, that G then judges
    margin: float = CLEAR_MARGIN    # dB: a moved placement must fit this much better than the clip as it is
    largest: int = None             # samples: only shifts of at most this many either way (None: any)
    judge: bool = True              # tell close placements apart by JUDGE_ITERATIONS Gauss-Newton steps

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def generator_words(generator, clips=ONSET_CLIPS, seed=0):
    """`clips` random G(z) (always the same z): the words this generator makes, where and how loud."""
    return synthesize(generator, random_z(clips, np.random.default_rng(seed)))


def typical_peak(words):
    """The median peak of the generator's words (generator_words): the level clips are brought to for its fits."""
    return float(np.median(np.abs(words).max(axis=1)))


def leveling(clips, peak):
    """(scale [N], centre [N]) that bring clips [N, T] to `peak` with their median sample taken off:
    leveled = (clips - centre) * scale, a first guess at the gain and offset G's fit then finds."""
    centre = np.median(clips, axis=1)
    return peak / (np.abs(clips - centre[:, None]).max(axis=1) + 1e-12), centre


def level(clips, peak):
    """Clips with their median sample taken off, brought to `peak` (see leveling)."""
    scale, centre = leveling(clips, peak)
    return (clips - centre[:, None]) * scale[:, None]


def generator_onsets(generator, clips=ONSET_CLIPS, seed=0):
    """Word onsets (samples) of `clips` random G(z), sorted: where this generator starts its words."""
    return onsets_of(generator_words(generator, clips, seed))


def onsets_of(words):
    return np.sort(word_onset(words))


def place(clips, shifts):
    """(clips moved `shifts` samples earlier, and 1 where a sample came from inside the clip, else 0)."""
    return shift(clips, -np.asarray(shifts)), shift(np.ones_like(clips), -np.asarray(shifts))


def typical_shifts(clips, onsets):
    """Shifts that start each clip's word where the generator starts its words most often (their median)."""
    return word_onset(clips) - int(np.median(onsets))


def readout_z_at_every_shift(kernel, bias, clip):
    """[2T, 100]: row s (mod 2T) is the readout's z of place(clip, s), all shifts at once by FFT."""
    length = 2 * len(clip)
    spectra = np.fft.rfft(kernel.T, length)
    return np.fft.irfft(np.fft.rfft(clip, length)[None] * np.conj(spectra), length).T + bias


def unlike_the_prior(z):
    """Kolmogorov-Smirnov distance of each row's |z| from |z| under WaveGAN's prior (uniform in [0, 1])."""
    quantiles = (np.arange(z.shape[-1]) + 0.5) / z.shape[-1]
    return np.abs(np.sort(np.abs(z), axis=-1) - quantiles).max(axis=-1)


def best_fitted(generator, clip, shifts, z_all, affine=False, profile=None):
    """Of `shifts`, the one at which G(the readout's z, inside the prior) fits the placed clip best."""
    placed, inside = place(np.repeat(clip[None], len(shifts), 0), shifts)
    z = np.clip(z_all[shifts % len(z_all)], -1, 1).astype(np.float32)
    return shifts[np.argmax(masked_snr(generator, placed, z, inside, affine, profile))]


def search_shifts(network, generator, clips, onsets, *, search=Search(), fit=Fit(), residues=None, profile=None):
    """The shift of each clip [N, 16384] that G fits best, and the network's z there and refined through its
    readout: (shifts [N], start [N, 100], refined [N, 100]).

    Candidates move the clip's word onset to where the generator starts words (`onsets`, from
    generator_onsets) or the clip by at most LOCAL_SHIFTS samples (with search.largest, only shifts of at most
    that many samples either way are candidates). The readout's z at every candidate
    comes from one FFT correlation; of the search.shortlist whose z looks most like a draw of the prior, the one
    whose G(z) fits its placed clip best is right up to a multiple of PERIOD. Of those multiples, the one
    whose z refined by search.refine_steps fits its placed clip best is kept, unless the clip as it is fits within
    search.margin dB of it (most clips are not moved at all); when the next best fits within CLEAR_MARGIN too, and
    neither is DECISIVE_SNR dB, the two are told apart by JUDGE_ITERATIONS Gauss-Newton steps (with search.judge).
    `residues` [N], where not NaN, gives a clip's shift up to a multiple of PERIOD (recovery/tones.py read it from
    the generator's tones) in place of the shortlist; only its multiples are weighed then, the clip as it is
    among them only when they include it (a quiet fake's first fits are poor everywhere, and unmoved could win).
    For a clip G made and then moved, that is its true shift; for other clips it is no guide (see recover).
    Every fit is weighed as `fit` (a Gauss-Newton Fit) makes it: inside the prior with fit.bounded_z, and with its
    best gain and offset with fit.affine.
    """
    kernel, bias = network.get_layer('linear_readout').get_weights()
    latest = int(onsets[-1]) + HOP
    owner, lags = [], []
    for i, (clip, onset) in enumerate(zip(clips, word_onset(clips))):
        candidates = np.unique(np.concatenate([np.arange(onset - latest, onset + HOP + 1),
                                               np.arange(-LOCAL_SHIFTS, LOCAL_SHIFTS + 1)]))
        largest = len(clip) if search.largest is None else search.largest
        candidates = candidates[np.abs(candidates) <= min(len(clip) - 1, largest)]
        if residues is not None and not np.isnan(residues[i]):
            best = int(residues[i])
        else:
            z_all = readout_z_at_every_shift(kernel, bias, clip)
            plausible = candidates[np.argsort(unlike_the_prior(z_all[candidates % len(z_all)]), kind='stable')]
            best = best_fitted(generator, clip, plausible[:search.shortlist], z_all, fit.affine, profile)
        alike = best + PERIOD * np.arange(-(len(clip) // PERIOD), len(clip) // PERIOD + 1)
        alike = alike[np.isin(alike, candidates)]
        if residues is None or np.isnan(residues[i]) or not len(alike):  # the clip as it is too: most are unmoved
            alike = np.union1d(alike, [0])
        owner += [i] * len(alike)
        lags += list(alike)
    owner, lags = np.array(owner), np.array(lags)
    placed, inside = place(clips[owner], lags)
    start, refined = network_start(network, generator, placed, search.refine_steps, fit.bounded_z, profile,
                                   mask=inside)
    snr = masked_snr(generator, placed, refined, inside, fit.affine, profile)
    chosen = np.zeros(len(clips), int)
    undecided = []
    for i in range(len(clips)):
        mine = np.flatnonzero(owner == i)
        ranked, unmoved = mine[np.argsort(-snr[mine], kind='stable')], mine[lags[mine] == 0]
        stays = len(unmoved) and snr[unmoved[0]] >= snr[ranked[0]] - search.margin
        chosen[i] = unmoved[0] if stays else ranked[0]
        if not stays and len(ranked) > 1 and snr[ranked[1]] >= snr[ranked[0]] - CLEAR_MARGIN \
                and snr[ranked[0]] < DECISIVE_SNR:
            undecided.append(ranked[:2])
    if undecided and search.judge:  # the two best fits of each, a few Gauss-Newton steps each (in one batch), tell them apart
        pairs = np.concatenate(undecided)
        judged = Fit(iterations=JUDGE_ITERATIONS, chord_steps=8, bounded_z=fit.bounded_z, affine=fit.affine)
        fitted = gauss_newton(generator, placed[pairs], refined[pairs], judged, mask=inside[pairs], profile=profile).snr
        pairs, fitted = pairs.reshape(-1, 2), fitted.reshape(-1, 2)
        chosen[owner[pairs[:, 0]]] = pairs[np.arange(len(pairs)), fitted.argmax(axis=1)]
    return lags[chosen], start[chosen], refined[chosen]
