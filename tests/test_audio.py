import os

import numpy as np
import pytest
import soundfile as sf

from conftest import FSDD
from utils.audio import AudioError, CLIP_LENGTH, SAMPLE_RATE, fit_length, list_audio_files, load_audio, save_wav


def test_fsdd_clip_is_resampled_to_16k_and_padded():
    path = os.path.join(FSDD, '7_jackson_32.wav')
    original, rate = sf.read(path)
    assert rate == 8000
    audio = load_audio(path)
    assert audio.shape == (CLIP_LENGTH,) and audio.dtype == np.float32
    n = 2 * len(original)
    assert np.abs(audio[:n]).max() > 0.01 and np.all(audio[n + 10:] == 0)


@pytest.mark.parametrize('rate', [8000, 22050, 44100, 48000])
def test_any_rate_and_channels_become_16k_mono(tmp_path, rate):
    t = np.arange(int(0.5 * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = str(tmp_path / 'tone.wav')
    sf.write(path, np.stack([tone, tone], axis=1), rate)
    audio = load_audio(path)
    assert audio.shape == (CLIP_LENGTH,)
    spectrum = np.abs(np.fft.rfft(audio[:8000]))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / 8000 - 440) < 5


def test_long_clips_are_cut():
    assert fit_length(np.ones(20000, np.float32)).shape == (CLIP_LENGTH,)


def test_save_wav_writes_a_16k_header(tmp_path):
    path = str(tmp_path / 'out.wav')
    save_wav(path, np.zeros(CLIP_LENGTH))
    info = sf.info(path)
    assert info.samplerate == 16000 and info.frames == CLIP_LENGTH and info.channels == 1


@pytest.mark.parametrize('content', [b'', b'not audio at all'])
def test_unreadable_files_raise_one_line_naming_the_file(tmp_path, content):
    path = tmp_path / 'bad.wav'
    path.write_bytes(content)
    with pytest.raises(AudioError) as error:
        load_audio(str(path))
    assert str(path) in str(error.value) and '\n' not in str(error.value)


def test_list_audio_files_finds_nested_clips(tmp_path):
    (tmp_path / 'a').mkdir()
    save_wav(str(tmp_path / 'a' / 'x.wav'), np.zeros(10))
    (tmp_path / 'notes.txt').write_text('x')
    assert list_audio_files(str(tmp_path)) == [str(tmp_path / 'a' / 'x.wav')]
