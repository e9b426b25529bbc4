"""The benchmarks' clips, built here once for both benchmarks, the tests and docs/experiments.

Recovery's file sets: clips the generator made, written to files of several formats and levels and read back
through the loader the scripts use (utils.data.load_clips), each with its file's noise floor
(utils.audio.noise_floor). Detection's kinds (`detection_clips`): FSDD takes, each generator's G(z) and digits
spoken by espeak-ng, drawn from the benchmark's seed; and the perturbations applied alike to every kind (`perturb`).
"""
import io
import os
import re
import subprocess
from typing import NamedTuple

import numpy as np
import soundfile as sf

from utils import perturb as perturbations
from utils.audio import SAMPLE_RATE, noise_floor, resample
from utils.data import load_clips, load_split


class FileSet(NamedTuple):
    """How a set's clips are written: gain * G(z) + offset in a file of this format, subtype and extension (with
    soundfile's compression level for lossy formats)."""
    format: str
    subtype: str
    extension: str
    gain: float = 1.0
    offset: float = 0.0
    compression: float = None


FILE_SETS = {  # G(z) itself in memory ('memory', the ceiling) and as files
    'float': FileSet('WAV', 'FLOAT', 'wav'),
    'pcm16': FileSet('WAV', 'PCM_16', 'wav'),
    'pcm16_quiet': FileSet('WAV', 'PCM_16', 'wav', gain=0.1),               # -20 dB
    'pcm16_offset': FileSet('WAV', 'PCM_16', 'wav', gain=0.5, offset=0.01),  # -6 dB with a DC offset of 0.01
    'flac24': FileSet('FLAC', 'PCM_24', 'flac'),
    'mp3': FileSet('MP3', 'MPEG_LAYER_III', 'mp3', compression=0.3),        # about 128 kbit/s at 16 kHz: lossy
}
SET_NAMES = ('memory', *FILE_SETS)
DESCRIPTIONS = {'memory': 'G(z) in memory', 'float': 'float WAV', 'pcm16': '16-bit WAV', 'pcm16_quiet': '16-bit WAV at -20 dB',
                'pcm16_offset': '16-bit WAV at -6 dB, DC offset 0.01', 'flac24': '24-bit FLAC', 'mp3': 'MP3, 128 kbit/s'}


def write_file_set(folder, clips, how):
    """Write each clip [N, 16384] into `folder` as `how` (a FileSet) says, as NNNN.EXT; return the paths."""
    os.makedirs(folder, exist_ok=True)
    options = {} if how.compression is None else dict(compression_level=how.compression, bitrate_mode='CONSTANT')
    paths = []
    for i, clip in enumerate(clips):
        path = os.path.join(folder, f'{i:04d}.{how.extension}')
        sf.write(path, how.gain * clip + how.offset, SAMPLE_RATE, format=how.format, subtype=how.subtype, **options)
        paths.append(path)
    return paths


def synthesized_set(name, clips, folder):
    """(audio [N, 16384], noise floors [N]) of the set `name`: the clips G made as they are ('memory'), or written
    into folder/name/ as FILE_SETS says and read back as the scripts read files."""
    if name == 'memory':
        return clips, np.zeros(len(clips))
    paths = write_file_set(os.path.join(folder, name), clips, FILE_SETS[name])
    audio, _, kept, refused = load_clips(paths, desc=f'reading {name}')
    if refused:
        raise RuntimeError(f'{name}: clips the loader refused: {refused[:3]}')
    return audio, np.array([noise_floor(path) for path in kept])


DETECTION_SEED = 2026  # the detection benchmark's default seed (of the fakes' z, the real takes drawn, the noise)
CODEC_LEVEL = 0.7  # soundfile's compression level for OGG Vorbis and MP3: about 64 kbit/s at 16 kHz
ESPEAK_VOICES = ('en-gb', 'en-us', 'en-gb-scotland', 'en-029', 'en-us-nyc')
DIGIT_WORDS = ('zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine')


def real_takes(data_dir, split, count, seed=DETECTION_SEED):
    """`count` FSDD takes of `split`, drawn by the benchmark's seed, in the split's order."""
    real = load_split(data_dir, split)[0]
    return real[np.sort(np.random.default_rng([seed, 0]).permutation(len(real))[:count])]


def fake_z(count, k=1, seed=DETECTION_SEED):
    """The z of the benchmark's `count` clips of generator number k (1: the shipped one)."""
    from models.wavegan import random_z  # here: SET_NAMES and the flags need no TensorFlow
    return random_z(count, np.random.default_rng([seed, k]))


def fakes(generator, count, k=1, seed=DETECTION_SEED):
    """(z, G(z)) of the benchmark's `count` clips of generator number k."""
    from models.wavegan import synthesize
    z = fake_z(count, k, seed)
    return z, synthesize(generator, z)


def detection_clips(generators, count, data_dir, split='test', espeak_dir=None, seed=DETECTION_SEED):
    """The detection benchmark's kinds of clips: {'real', 'G1', 'G2', ..., 'espeak'} -> clips [count, 16384]
    ('espeak' only with espeak_dir, made there by make_other_speech)."""
    kinds = {'real': real_takes(data_dir, split, count, seed)}
    for k, generator in enumerate(generators):
        kinds[f'G{k + 1}'] = fakes(generator, count, k + 1, seed)[1]
    if espeak_dir:
        kinds['espeak'] = load_clips(make_other_speech(espeak_dir, count), desc='other speech')[0]
    return kinds


def perturbation_rng(name, seed=DETECTION_SEED):
    """The random stream of perturbation `name` (its noise), shared in turn by every kind of clip."""
    return np.random.default_rng([seed, 7, sum(map(ord, name))])


PERTURBATION = re.compile(r'clean|resample8k|ogg|mp3|gain[+-]?\d+(\.\d+)?|noise\d+(\.\d+)?|shift-?\d+|speed-?\d+(\.\d+)?')


def perturb(name, clips, rng):
    """Clips [N, 16384] under perturbation `name` (clean, gainDB, noiseSNR, resample8k, ogg, mp3, shiftN, speedPCT);
    `rng`: a seed or numpy Generator for its noise (perturbation_rng). Raises ValueError for an unknown name."""
    rng = np.random.default_rng(rng)
    if name == 'clean':
        return clips
    if name.startswith('gain'):
        return perturbations.gain_db(clips, float(name[4:]))
    if name.startswith('noise'):
        return perturbations.add_noise(clips, float(name[5:]), rng)
    if name == 'resample8k':
        return np.stack([resample(resample(a, 16000, 8000), 8000, 16000)[:clips.shape[1]]
                         for a in clips]).astype(np.float32)
    if name in ('ogg', 'mp3'):
        return np.stack([through_codec(a, name) for a in clips])
    if name.startswith('shift'):
        return perturbations.shift(clips, int(name[5:]))
    if name.startswith('speed'):
        return perturbations.change_speed(clips, 1 + float(name[5:]) / 100)
    raise ValueError(f'unknown perturbation {name!r}')  # names PERTURBATION matches are all handled above


def through_codec(audio, codec):
    """One clip encoded as OGG Vorbis or MP3 at CODEC_LEVEL and decoded again (in memory)."""
    buffer = io.BytesIO()
    options = dict(format='OGG', subtype='VORBIS') if codec == 'ogg' else dict(format='MP3', subtype='MPEG_LAYER_III',
                                                                                bitrate_mode='CONSTANT')
    sf.write(buffer, np.clip(audio, -1, 1), 16000, compression_level=CODEC_LEVEL, **options)
    buffer.seek(0)
    decoded, _ = sf.read(buffer, dtype='float32')
    return np.pad(decoded, (0, max(len(audio) - len(decoded), 0)))[:len(audio)]


def make_other_speech(folder, count):
    """`count` digits spoken by espeak-ng (voices, speeds and pitches varied) as WAVs in folder; the files."""
    os.makedirs(folder, exist_ok=True)
    files = []
    for i in range(count):
        word, voice = DIGIT_WORDS[i % 10], ESPEAK_VOICES[(i // 10) % len(ESPEAK_VOICES)]
        variant = ('', '+f3', '+m3')[(i // 50) % 3]
        speed, pitch = (140, 175)[(i // 150) % 2], 30 + (7 * i) % 50
        path = os.path.join(folder, f'{word}_{voice}{variant}_{speed}_{pitch}.wav')
        if not os.path.isfile(path):
            subprocess.run(['espeak-ng', '-v', voice + variant, '-s', str(speed), '-p', str(pitch), '-w', path, word],
                           check=True, capture_output=True)
        files.append(path)
    return files
