"""Audio in and out: any file soundfile reads -> 16 kHz mono float32 of 16384 samples, and back."""
import csv
import io
import json
import os
import re
from fractions import Fraction

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from utils.errors import UserError

SAMPLE_RATE = 16000   # WaveGAN's rate: its SC09 model was trained on 16 kHz audio
CLIP_LENGTH = 16384   # WaveGAN's output length (1.024 s at 16 kHz)
AUDIO_EXTENSIONS = ('.wav', '.flac', '.ogg', '.mp3', '.aiff', '.aif')
MIN_SECONDS = 0.1     # shorter clips are refused
SILENCE_PEAK = 1e-4   # clips with no sample above this are refused as silent
PAPER_RATE = 16384    # the rate the paper's code wrote in the header of its 16 kHz clips of 16384 samples
PCM_BITS = {'PCM_S8': 8, 'PCM_U8': 8, 'PCM_16': 16, 'PCM_24': 24, 'PCM_32': 32}  # sample formats that round to a step
FLOAT_FORMATS = ('FLOAT', 'DOUBLE')  # sample formats that keep float32 audio as it was


class AudioError(UserError):
    """A file that cannot be used as audio; the message names the file and the reason."""


def resample(audio, rate_in, rate_out=SAMPLE_RATE):
    if rate_in == rate_out:
        return audio
    ratio = Fraction(rate_out, rate_in).limit_denominator(1000)
    return resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


def fit_length(audio, length=CLIP_LENGTH):
    """Exactly `length` samples: a shorter clip is zero-padded at the end; of a longer one, the
    window of `length` samples with the most energy is kept (where the word is)."""
    if len(audio) <= length:
        return np.pad(audio, (0, length - len(audio)))
    energy = np.concatenate([[0.0], np.cumsum(np.square(audio, dtype=np.float64))])
    start = int(np.argmax(energy[length:] - energy[:-length]))
    return audio[start:start + length]


def unit_shape(clips, mask=None):
    """Each clip [N, T] (over `mask`, 0 elsewhere) with its mean taken off and scaled to an RMS of 1: what it
    shows whatever its gain and DC offset."""
    mask = np.ones_like(clips) if mask is None else mask
    weight = mask.sum(axis=-1, keepdims=True) + 1e-12
    centred = (clips - (clips * mask).sum(axis=-1, keepdims=True) / weight) * mask
    return centred / np.sqrt((centred ** 2).sum(axis=-1, keepdims=True) / weight + 1e-30)


def truncation(path):
    """None for a complete file; for a WAV cut short, (bytes of data its header declares, bytes present)."""
    for line in sf.info(path).extra_info.splitlines():
        m = re.match(r'data\s*:\s*(\d+)\s*\(should be (\d+)\)', line)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def read_audio(path):
    """(mono float32 samples, sample rate) of any file soundfile reads, or AudioError naming the problem."""
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise AudioError(f'{path}: empty (0 bytes)')
    try:
        audio, rate = sf.read(path, dtype='float32', always_2d=True)
        cut = truncation(path)
    except Exception as e:  # soundfile raises several types for unreadable files
        raise AudioError(f'{path}: not readable as audio ({str(e).splitlines()[0]})') from None
    if cut:
        raise AudioError(f'{path}: truncated (its header declares {cut[0]} bytes of audio, the file holds {cut[1]})')
    if audio.shape[0] == 0:
        raise AudioError(f'{path}: contains no samples')
    audio = audio.mean(axis=1)
    if not np.all(np.isfinite(audio)):
        raise AudioError(f'{path}: contains NaN or infinite samples')
    return audio, rate


def is_paper_style(rate, samples):
    """Whether a file is one the paper's code wrote: 16384 samples of 16 kHz audio, its header saying 16384 Hz."""
    return rate == PAPER_RATE and samples == CLIP_LENGTH


def is_paper_style_file(path):
    """is_paper_style of a readable file, from its header alone."""
    info = sf.info(path)
    return is_paper_style(info.samplerate, info.frames)


def noise_floor(path, sample_rate=SAMPLE_RATE, paper_rate=True):
    """The variance of the noise that a file's sample format adds to each sample load_audio reads from it: a
    PCM step's rounding (step^2 / 12, of which resampling down keeps the share below the new Nyquist frequency
    and averaging independent channels keeps one in their number), 0 for float files, and NaN where the
    format's loss is no rounding to a step (MP3, Vorbis, mu-law): there the fit's own end is the floor."""
    info = sf.info(path)
    if info.subtype in FLOAT_FORMATS:
        return 0.0
    if info.subtype not in PCM_BITS:
        return float('nan')
    rate = SAMPLE_RATE if paper_rate and is_paper_style(info.samplerate, info.frames) else info.samplerate
    step = 2.0 ** (1 - PCM_BITS[info.subtype])
    return step ** 2 / 12 * min(1.0, sample_rate / rate) / info.channels


def load_audio(path, sample_rate=SAMPLE_RATE, length=CLIP_LENGTH, paper_rate=True):
    """Read a clip as mono float32 at `sample_rate`, fitted to `length` samples (see fit_length).

    Channels are averaged; samples keep their level (float files may exceed [-1, 1]). Clips under
    MIN_SECONDS or with no sound above SILENCE_PEAK are refused: no spoken digit fits in them. With
    paper_rate, a paper-style file (see is_paper_style) is read as the 16 kHz audio it holds, not resampled.
    """
    audio, rate = read_audio(path)
    if paper_rate and is_paper_style(rate, len(audio)):
        rate = SAMPLE_RATE
    if len(audio) < MIN_SECONDS * rate:
        raise AudioError(f'{path}: lasts {len(audio) / rate:.3f} s, under the {MIN_SECONDS} s a spoken digit needs')
    if np.abs(audio).max() < SILENCE_PEAK:
        raise AudioError(f'{path}: silent (no sample above {SILENCE_PEAK:g})')
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


def save_wav(path, audio, sample_rate=SAMPLE_RATE, subtype='PCM_16'):
    """Write audio as a WAV file of `subtype` ('PCM_16', 'FLOAT', ...; PCM clipped to [-1, 1]) with the true sample
    rate in its header."""
    audio = np.asarray(audio, np.float32).reshape(-1)
    if subtype not in FLOAT_FORMATS:
        audio = np.clip(audio, -1.0, 1.0)
    atomic_write(path, lambda tmp: sf.write(tmp, audio, sample_rate, subtype=subtype))


def save_text(path, text):
    def write(tmp):
        with open(tmp, 'w') as f:
            f.write(text)
    atomic_write(path, write)


def save_json(path, data):
    save_text(path, json.dumps(data, indent=2))


def save_csv(path, rows):
    """A list of dicts with the same keys as a CSV table, a header line first."""
    text = io.StringIO()
    if rows:
        writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator='\n')
        writer.writeheader()
        writer.writerows(rows)
    save_text(path, text.getvalue())


def markdown_table(header, rows):
    """A Markdown table: the header's cells, then each row's (any values, written with str)."""
    return ''.join('| ' + ' | '.join(str(cell) for cell in line) + ' |\n'
                   for line in [header, ['---'] * len(header), *rows])


def save_npy(path, array):
    atomic_write(path, lambda tmp: np.save(tmp, array))


def save_npy_dict(path, arrays):
    """Arrays by name in one .npz file."""
    atomic_write(path, lambda tmp: np.savez(tmp, **arrays))


def list_audio_files(folder):
    """Every audio file under `folder` (recursively), sorted."""
    if not os.path.isdir(folder):
        raise AudioError(f'{folder}: no such folder')
    found = []
    for root, _, names in os.walk(folder):
        found += [os.path.join(root, n) for n in names if n.lower().endswith(AUDIO_EXTENSIONS)]
    return sorted(found)


def run_folder(input_dir, out_dir, method):
    """Where a run on input_dir by `method` writes: its own folder, so runs on other folders keep theirs."""
    return os.path.join(out_dir, os.path.basename(os.path.normpath(input_dir)) or 'clips', method)


def flat_name(relative_path):
    """A clip's path below its input folder as one file name stem: `a/b.wav` -> `a__b`."""
    return os.path.splitext(relative_path)[0].replace(os.sep, '__')


def output_stem(path, input_dir, run_dir):
    """Where the outputs of the clip at `path` (under input_dir) go in run_dir, less their endings."""
    return os.path.join(run_dir, flat_name(os.path.relpath(path, input_dir)))
