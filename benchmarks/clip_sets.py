"""The benchmarks' clips as users have them: clips the generator made, written to files of several formats and
levels and read back through the loader the scripts use (utils.data.load_clips), each with its file's noise
floor (utils.audio.noise_floor)."""
import os
from typing import NamedTuple

import numpy as np
import soundfile as sf

from utils.audio import SAMPLE_RATE, noise_floor
from utils.data import load_clips


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
