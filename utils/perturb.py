"""Changes to clips that leave the spoken word as it is: where it starts, its level, noise, speed, bandwidth.

The classifier trains on them (augmentation), the inverse-mapping network learns to see through some
(degrade), benchmarks place words with them, and recovery uses `shift` and `word_onset` to move a word
to where the generator makes its words.
"""
import numpy as np

HOP = 128            # samples per frame of the onset detector (the STFT's hop)
WORD_WITHIN_DB = 25  # a frame belongs to the word when within this many dB of the clip's loudest frame


def frame_levels_db(audio, hop=HOP):
    """Mean power in dB of each `hop`-sample frame of clips [..., T] -> [..., T // hop]."""
    frames = audio.shape[-1] // hop
    power = np.square(audio[..., :frames * hop], dtype=np.float64).reshape(*audio.shape[:-1], frames, hop)
    return 10 * np.log10(power.mean(axis=-1) + 1e-20)


def word_extent(audio, within_db=WORD_WITHIN_DB):
    """(onset, end) in samples of the word in each clip [..., T]: the first and past-the-last frame
    within `within_db` of the clip's loudest frame."""
    levels = frame_levels_db(audio)
    loud = levels >= levels.max(axis=-1, keepdims=True) - within_db
    onset = loud.argmax(axis=-1)
    end = levels.shape[-1] - loud[..., ::-1].argmax(axis=-1)
    return onset * HOP, end * HOP


def word_onset(audio, within_db=WORD_WITHIN_DB):
    return word_extent(audio, within_db)[0]


def shift(audio, samples):
    """Each clip [..., T] moved `samples` later (earlier if negative), zeros coming in, its length kept."""
    audio = np.asarray(audio)
    samples = np.broadcast_to(np.asarray(samples, int), audio.shape[:-1])
    out = np.zeros_like(audio)
    length = audio.shape[-1]
    for index in np.ndindex(*audio.shape[:-1]):
        s = int(samples[index])
        if s >= 0:
            out[index][s:] = audio[index][:max(length - s, 0)]
        else:
            out[index][:max(length + s, 0)] = audio[index][-s:]
    return out


def random_onsets(audio, rng):
    """Each clip's word moved to an onset drawn uniformly from those where the word still ends inside the
    clip; returns (moved clips, the shift of each)."""
    onset, end = word_extent(audio)
    latest = np.maximum(audio.shape[-1] - (end - onset), 0)
    new_onset = (rng.random(len(audio)) * (latest + 1)).astype(int)
    shifts = new_onset - onset
    return shift(audio, shifts), shifts


def gain_db(audio, db, clip=True):
    """Louder by `db` dB, samples clipped to [-1, 1] as a file would hold them (unless clip=False)."""
    out = audio * np.float32(10 ** (np.asarray(db, np.float32) / 20))
    return np.clip(out, -1, 1) if clip else out


def add_noise(audio, snr_db, rng):
    """White noise at `snr_db` dB below each clip's power over its word (not over the silence around it)."""
    audio = np.asarray(audio, np.float32)
    onset, end = word_extent(audio)
    power = np.array([np.mean(np.square(clip[a:b], dtype=np.float64)) for clip, a, b in
                      zip(audio.reshape(-1, audio.shape[-1]), np.ravel(onset), np.ravel(end))]).reshape(onset.shape)
    scale = np.sqrt(power / 10 ** (np.asarray(snr_db, np.float64) / 10))[..., None]
    return (audio + scale * rng.standard_normal(audio.shape)).astype(np.float32)


def change_speed(audio, factor):
    """Each clip played `factor` times as fast (pitch with it, as a tape would), its length kept by
    cutting or zero-padding the end (linear interpolation, enough for a few percent)."""
    audio = np.asarray(audio, np.float32)
    length = audio.shape[-1]
    factors = np.broadcast_to(np.asarray(factor, np.float64), audio.shape[:-1])
    out = np.zeros_like(audio)
    for index in np.ndindex(*audio.shape[:-1]):
        positions = np.arange(int(length / factors[index])) * factors[index]
        positions = positions[positions <= length - 1][:length]
        out[index][:len(positions)] = np.interp(positions, np.arange(length), audio[index])
    return out


def augment(audio, rng, *, gain_range=(-10.0, 6.0), noise_snr=(20.0, 40.0), noise_share=0.5, speed=0.05):
    """Training augmentation: words at random onsets, a random gain (unclipped: the classifier normalises
    its input's peak), white noise at a random SNR on `noise_share` of the clips, a speed change of up to
    `speed` (a fraction) either way."""
    n = len(audio)
    audio = change_speed(audio, 1 + rng.uniform(-speed, speed, n)) if speed else audio
    audio, _ = random_onsets(audio, rng)
    audio = gain_db(audio, rng.uniform(*gain_range, n)[:, None], clip=False)
    noisy = rng.random(n) < noise_share
    if noisy.any():
        audio[noisy] = add_noise(audio[noisy], rng.uniform(*noise_snr, noisy.sum()), rng)
    return audio.astype(np.float32)


def low_pass(audio, cutoff_hz, rate=16000):
    """Each clip with everything above its `cutoff_hz` taken out (an ideal filter, by FFT), as resampling
    to a lower rate and lossy codecs do."""
    audio = np.asarray(audio, np.float32)
    spectrum = np.fft.rfft(audio, axis=-1)
    above = np.fft.rfftfreq(audio.shape[-1], 1 / rate) > np.asarray(cutoff_hz, np.float64)[..., None]
    return np.fft.irfft(np.where(above, 0, spectrum), audio.shape[-1], axis=-1).astype(np.float32)


def degrade(audio, rng, *, share=0.5, cutoff_range=(3000.0, 7500.0), noise_snr=(15.0, 50.0)):
    """What a clip may meet between the generator and a listener, on `share` of the clips: a low-pass at a
    random cutoff and white noise at a random SNR (so the inverse-mapping network learns to see through
    codecs and resampling, which take out the faint highs it otherwise reads z from). At share 0 the clips
    come back as they are and `rng` is not drawn from, so a recipe without degradation keeps its stream."""
    if not share:
        return np.asarray(audio, np.float32)
    audio = np.array(audio, np.float32)
    hit = np.flatnonzero(rng.random(len(audio)) < share)
    if len(hit):
        lowered = low_pass(audio[hit], rng.uniform(*cutoff_range, len(hit)))
        audio[hit] = add_noise(lowered, rng.uniform(*noise_snr, len(hit)), rng)
    return audio
