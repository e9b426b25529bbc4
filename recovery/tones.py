"""What the generator's steady tones tell about a clip before recovery: how fast it plays and where it sits.

WaveGAN's upsampling leaves steady tones at fixed frequencies, with fixed phases, in everything it makes
(whatever z is). A clip played f times as fast carries them at f times their frequency, so the speed at
which the generator's tones best match the clip's spectrum says how much to slow it back down; and a clip
moved s samples later carries their phases turned by s, which says s up to a multiple of PERIOD (the
phases differ from one generator to another, the frequencies do not). Real speech matches them at no
speed and no shift and is left to the shift search. Recovery then checks both by fitting.
"""
import numpy as np
from scipy.ndimage import median_filter

from recovery.alignment import PERIOD
from utils.perturb import change_speed

LARGEST_CHANGE = 0.06  # speeds from 1 - this to 1 + this are read (a clip played up to 6% fast or slow)
STEP = 0.0002          # the speeds read differ by this (a fit needs the speed within about 0.1%)
CLOSE_ENOUGH = 0.0004  # a speed this close to 1 is taken as 1
MATCH = 0.2            # the tones must match this well (a correlation): G's clips 0.25-0.7, speech under 0.15
BAND = (150, 8000)     # rfft bins compared (of a 16384-sample clip: about 146 Hz to 7.8 kHz at 16 kHz)
PHASES_AGREE = 0.2     # phases agreeing this well are this generator's: its clips 0.15-0.8, speech and others' under 0.18
SMOOTHING = 65         # bins of the running median taken off each log spectrum, leaving its tones


def tones(clips):
    """Each clip's log power spectrum [N, 8193] less its running median: the tones standing out of it."""
    db = 10 * np.log10(np.abs(np.fft.rfft(clips, axis=-1)) ** 2 + 1e-12)
    return db - median_filter(db, size=(1, SMOOTHING), mode='nearest')  # the ends padded with their edge values


def standardized(rows):
    return (rows - rows.mean(axis=-1, keepdims=True)) / (rows.std(axis=-1, keepdims=True) + 1e-12)


def phasors(clips, bins):
    spectrum = np.fft.rfft(clips, axis=-1)[..., bins]
    return spectrum / (np.abs(spectrum) + 1e-12)


def phase_bins(length):
    """The bins whose phases turn by whole turns when a clip moves by PERIOD samples (the tones sit on them)."""
    return np.arange(length // PERIOD, length // 2, length // PERIOD)


def fingerprint(words):
    """The generator's tones, from clips it made (generator_words): a dict of 'speeds' [S], 'expected' [S,
    bins in BAND] (the tones a clip played at each speed shows, standardized) and 'phases' (the mean phasor of
    each bin on the PERIOD grid: its length says how steady its phase is from one z to another)."""
    mean = tones(words).mean(axis=0)
    bins = np.arange(len(mean))
    speeds = 1 + np.arange(-LARGEST_CHANGE, LARGEST_CHANGE + STEP / 2, STEP)
    # played f times as fast, a tone at bin b sounds at bin f * b: the clip's bin b holds the fingerprint's b / f
    expected = standardized(np.stack([np.interp(bins[BAND[0]:BAND[1]] / f, bins, mean) for f in speeds]))
    return {'speeds': speeds, 'expected': expected, 'phases': phasors(words, phase_bins(words.shape[-1])).mean(axis=0)}


def speed_match(clips, fingerprint):
    """How well each clip's tones [N, 16384] match the generator's played at each of fingerprint['speeds']:
    correlations [N, S]."""
    expected = fingerprint['expected']
    return standardized(tones(clips)[:, BAND[0]:BAND[1]]) @ expected.T / expected.shape[1]


def played_speeds(clips, fingerprint):
    """(the speed each clip [N, 16384] was played at, relative to the generator, and whether its tones match
    the generator's well enough to believe): the speed is 1 where they do not, or where it is within
    CLOSE_ENOUGH of 1."""
    match = speed_match(clips, fingerprint)
    best, matched = fingerprint['speeds'][match.argmax(axis=1)], match.max(axis=1) >= MATCH
    return np.where(matched & (np.abs(best - 1) > CLOSE_ENOUGH), best, 1.0), matched


def undo_speed(clips, speeds):
    """The clips as they were before being played `speeds` times as fast (each one left alone at speed 1)."""
    speeds = np.asarray(speeds, np.float64)
    out = np.array(clips, np.float32, copy=True)
    changed = speeds != 1
    if changed.any():
        out[changed] = change_speed(out[changed], 1 / speeds[changed])
    return out


def phase_agreement(clips, fingerprint):
    """How well the generator's tone phases, moved by each shift s in [0, PERIOD), line up with each clip's
    [N, T]: [N, PERIOD], 1 where every tone is where the generator puts it."""
    length = clips.shape[-1]
    bins = phase_bins(length)
    turned = np.zeros((len(clips), length // 2 + 1), complex)
    turned[:, bins] = phasors(clips, bins) * np.conj(fingerprint['phases'])
    return np.fft.irfft(turned, length, axis=-1)[:, :PERIOD] / (2 * np.abs(fingerprint['phases']).sum() / length)


def tone_shifts(clips, fingerprint):
    """(the shift, in [-PERIOD/2, PERIOD/2), that turns the generator's tone phases into each clip's [N, T]: the
    clip is G(z) moved that many samples later, up to a multiple of PERIOD; and whether the phases, so turned,
    agree well enough to say this generator made it (another generator's tones sit at the same frequencies with
    other phases))."""
    agreement = phase_agreement(clips, fingerprint)
    best = agreement.argmax(axis=-1)
    return np.where(best >= PERIOD // 2, best - PERIOD, best), agreement.max(axis=-1) >= PHASES_AGREE
