"""Audio in and out: any file soundfile reads -> 16 kHz mono float32 of 16384 samples, and back."""
import os
from fractions import Fraction

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from utils.errors import UserError

SAMPLE_RATE = 16000   # WaveGAN's rate: its SC09 model was trained on 16 kHz audio
CLIP_LENGTH = 16384   # WaveGAN's output length (1.024 s at 16 kHz)
AUDIO_EXTENSIONS = ('.wav', '.flac', '.ogg', '.mp3', '.aiff', '.aif')


class AudioError(UserError):
    """A file that cannot be used as audio; the message names the file and the reason."""


def resample(audio, rate_in, rate_out=SAMPLE_RATE):
    if rate_in == rate_out:
        return audio
    ratio = Fraction(rate_out, rate_in).limit_denominator(1000)
    return resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


def fit_length(audio, length=CLIP_LENGTH):
    """Zero-pad at the end or cut the end, to exactly `length` samples."""
    if len(audio) >= length:
        return audio[:length]
    return np.pad(audio, (0, length - len(audio)))


def load_audio(path, sample_rate=SAMPLE_RATE, length=CLIP_LENGTH):
    """Read a clip as mono float32 in [-1, 1] at `sample_rate`, padded or cut to `length`."""
    try:
        audio, rate = sf.read(path, dtype='float32', always_2d=True)
    except Exception as e:  # soundfile raises several types for unreadable files
        raise AudioError(f'{path}: not readable as audio ({str(e).splitlines()[0]})') from None
    if audio.shape[0] == 0:
        raise AudioError(f'{path}: contains no samples')
    audio = audio.mean(axis=1)
    if not np.all(np.isfinite(audio)):
        raise AudioError(f'{path}: contains NaN or infinite samples')
    audio = resample(audio, rate, sample_rate)
    return fit_length(audio, length).astype(np.float32) if length else audio


def atomic_write(path, write):
    """Call write(tmp_path), then rename tmp_path to path, so readers never see half a file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    root, ext = os.path.splitext(path)
    tmp = f'{root}.tmp{os.getpid()}{ext}'
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_wav(path, audio, sample_rate=SAMPLE_RATE):
    """Write float audio as 16-bit PCM WAV with the true sample rate in its header."""
    audio = np.clip(np.asarray(audio, np.float32).reshape(-1), -1.0, 1.0)
    atomic_write(path, lambda tmp: sf.write(tmp, audio, sample_rate, subtype='PCM_16'))


def save_text(path, text):
    def write(tmp):
        with open(tmp, 'w') as f:
            f.write(text)
    atomic_write(path, write)


def save_npy(path, array):
    atomic_write(path, lambda tmp: np.save(tmp, array))


def list_audio_files(folder):
    """Every audio file under `folder` (recursively), sorted."""
    if not os.path.isdir(folder):
        raise AudioError(f'{folder}: no such folder')
    found = []
    for root, _, names in os.walk(folder):
        found += [os.path.join(root, n) for n in names if n.lower().endswith(AUDIO_EXTENSIONS)]
    return sorted(found)
