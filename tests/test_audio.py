import io
import os
import tempfile

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings, strategies as st

from conftest import BAD_KINDS, FSDD, bad_clip, tone
from utils.audio import AudioError, CLIP_LENGTH, SAMPLE_RATE, list_audio_files, load_audio, markdown_table, save_wav


def test_fsdd_clip_is_resampled_to_16k_and_padded():
    """An 8 kHz FSDD clip becomes 16384 samples at 16 kHz: the word first, then silence.
    Break: utils/audio.py: `return np.pad(audio, (0, length - len(audio)))` -> `return np.pad(audio, (length - len(audio), 0))`
    """
    path = os.path.join(FSDD, '7_jackson_32.wav')
    original, rate = sf.read(path)
    assert rate == 8000
    audio = load_audio(path)
    assert audio.shape == (CLIP_LENGTH,) and audio.dtype == np.float32
    n = 2 * len(original)
    assert np.abs(audio[:n]).max() > 0.01 and np.all(audio[n + 10:] == 0)


@pytest.mark.parametrize('rate', [8000, 22050, 44100, 48000])
def test_any_rate_and_channels_become_16k_mono(tmp_path, rate):
    """A 440 Hz stereo tone at any rate is a 440 Hz mono tone at 16 kHz.
    Break: utils/audio.py: `ratio = Fraction(rate_out, rate_in).limit_denominator(1000)` -> `ratio = Fraction(rate_out, 16000).limit_denominator(1000)`
    """
    t = np.arange(int(0.5 * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = str(tmp_path / 'tone.wav')
    sf.write(path, np.stack([tone, tone], axis=1), rate)
    audio = load_audio(path)
    assert audio.shape == (CLIP_LENGTH,)
    spectrum = np.abs(np.fft.rfft(audio[:8000]))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / 8000 - 440) < 5


def test_long_clips_keep_their_loudest_window(tmp_path):
    """Of a 3 s clip with a word 2.5 s in, the 1.024 s window holding the word is kept.
    Break: utils/audio.py: `start = int(np.argmax(energy[length:] - energy[:-length]))` -> `start = 0`
    """
    audio = np.zeros(3 * SAMPLE_RATE, np.float32)
    audio[40000:44000] = 0.5 * np.sin(np.arange(4000) / 3)  # a "word" 2.5 s in
    path = str(tmp_path / 'long.wav')
    sf.write(path, audio, SAMPLE_RATE, subtype='FLOAT')
    clip = load_audio(path)
    assert clip.shape == (CLIP_LENGTH,)
    assert np.sum(clip ** 2) == pytest.approx(np.sum(audio ** 2), rel=1e-4)


def test_save_wav_writes_a_16k_header(tmp_path):
    """Clips are written as 16 kHz mono, 16384 frames.
    Break: utils/audio.py: `sf.write(tmp, audio, sample_rate, subtype=subtype)` -> `sf.write(tmp, audio, 16384, subtype=subtype)`
    """
    path = str(tmp_path / 'out.wav')
    save_wav(path, np.zeros(CLIP_LENGTH))
    info = sf.info(path)
    assert info.samplerate == 16000 and info.frames == CLIP_LENGTH and info.channels == 1


@pytest.mark.parametrize('ext, subtype', [('wav', 'PCM_U8'), ('wav', 'PCM_16'), ('wav', 'PCM_24'), ('wav', 'PCM_32'),
                                          ('wav', 'FLOAT'), ('wav', 'DOUBLE'), ('flac', 'PCM_16'),
                                          ('ogg', 'VORBIS'), ('mp3', 'MPEG_LAYER_III'), ('aiff', 'PCM_16')])
def test_every_format_and_sample_type_soundfile_reads_is_loaded(tmp_path, ext, subtype):
    """WAV of every sample type, FLAC, OGG, MP3 and AIFF: one float32 clip at the tone's level.
    Break: utils/audio.py: `return fit_length(audio, length).astype(np.float32) if length else audio` -> `return fit_length(audio, length).astype(np.float64) if length else audio`
    """
    path = str(tmp_path / f'tone.{ext}')
    sf.write(path, tone(), SAMPLE_RATE, subtype=subtype)
    audio = load_audio(path)
    assert audio.shape == (CLIP_LENGTH,) and audio.dtype == np.float32
    assert np.abs(audio).max() == pytest.approx(0.5, abs=0.05)


def test_multichannel_clips_are_averaged(tmp_path):
    """Six channels, four of them a tone: the mean, at 4/6 of its level.
    Break: utils/audio.py: `    audio = audio.mean(axis=1)` -> `    audio = audio[:, 0]`
    """
    channels = np.stack([tone()] * 4 + [np.zeros_like(tone())] * 2, axis=1)
    path = str(tmp_path / 'six.wav')
    sf.write(path, channels, SAMPLE_RATE, subtype='FLOAT')
    assert np.abs(load_audio(path)).max() == pytest.approx(0.5 * 4 / 6, rel=1e-3)


def test_clipped_and_over_full_scale_clips_keep_their_level(tmp_path):
    """A float clip peaking at 2 is read at 2: nothing rescales a clip (recovery fits its gain).
    Break: utils/audio.py: `return fit_length(audio, length).astype(np.float32) if length else audio` -> `return fit_length(audio / np.abs(audio).max(), length).astype(np.float32) if length else audio`
    """
    path = str(tmp_path / 'hot.wav')
    sf.write(path, np.clip(4 * tone(), -2, 2), SAMPLE_RATE, subtype='FLOAT')
    audio = load_audio(path)
    assert np.abs(audio).max() == pytest.approx(2, rel=1e-2)


@pytest.mark.parametrize('kind', BAD_KINDS)
def test_unusable_files_are_refused_in_one_line_naming_the_file(tmp_path, kind):
    """Each kind of bad file: AudioError, one line, starting with the path, giving the reason.
    Break: utils/audio.py: `    if np.abs(audio).max() < SILENCE_PEAK:` -> `    if False:`
    Break: utils/audio.py: `    if cut:` -> `    if False:`
    """
    path, reason = bad_clip(tmp_path, kind)
    with pytest.raises(AudioError) as error:
        load_audio(path)
    message = str(error.value)
    assert message.startswith(path + ':') and reason in message and '\n' not in message


@settings(max_examples=40, deadline=None)
@given(rate=st.sampled_from([4000, 8000, 11025, 16000, 22050, 44100, 48000, 96000]),
       channels=st.integers(1, 3), seconds=st.floats(0.1, 2.5), level=st.floats(1e-3, 4.0),
       subtype=st.sampled_from(['PCM_16', 'PCM_32', 'FLOAT']), seed=st.integers(0, 2 ** 16))
def test_loader_always_returns_one_finite_16k_clip(rate, channels, seconds, level, subtype, seed):
    """Random rates, channels, lengths, levels and sample types: always one finite clip of 16384 samples.
    Break: utils/audio.py: `return np.pad(audio, (0, length - len(audio)))` -> `return audio`
    """
    noise = np.random.default_rng(seed).uniform(-level, level, (max(int(seconds * rate), int(0.1 * rate) + 1), channels))
    if subtype != 'FLOAT':
        noise = np.clip(noise, -1, 1)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'clip.wav')
        sf.write(path, noise, rate, subtype=subtype)
        audio = load_audio(path)
    assert audio.shape == (CLIP_LENGTH,) and audio.dtype == np.float32 and np.all(np.isfinite(audio))
    assert np.abs(audio).max() > 0


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_any_bytes_give_a_clip_or_one_audio_error(content, with_wav_header):
    """Random bytes, with or without a WAV header: a clip, or an AudioError in one line naming the file.
    Break: utils/audio.py: `    except Exception as e:  # soundfile raises` -> `    except KeyError as e:  # soundfile raises`
    """
    if with_wav_header:
        buffer = io.BytesIO()
        sf.write(buffer, tone(), SAMPLE_RATE, format='WAV', subtype='PCM_16')
        content = buffer.getvalue()[:44] + content
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'x.wav')
        with open(path, 'wb') as f:
            f.write(content)
        try:
            audio = load_audio(path)
        except AudioError as error:
            assert str(error).startswith(path + ':') and '\n' not in str(error)
        else:
            assert audio.shape == (CLIP_LENGTH,) and np.all(np.isfinite(audio))


def test_list_audio_files_finds_nested_clips(tmp_path):
    """Audio files in subfolders are found; other files are not.
    Break: utils/audio.py: `if n.lower().endswith(AUDIO_EXTENSIONS)]` -> `if True]`
    """
    (tmp_path / 'a').mkdir()
    save_wav(str(tmp_path / 'a' / 'x.wav'), np.zeros(10))
    (tmp_path / 'notes.txt').write_text('x')
    assert list_audio_files(str(tmp_path)) == [str(tmp_path / 'a' / 'x.wav')]


def test_markdown_table_has_a_header_a_rule_and_a_line_per_row():
    """The tables the scripts write as .md (detections, benchmarks, metrics).
    Break: utils/audio.py: `                   for line in [header, ['---'] * len(header), *rows])` -> `                   for line in [header, *rows])`
    Break: utils/audio.py: `    return ''.join('| ' + ' | '.join(str(cell) for cell in line) + ' |\\n'` -> `    return ''.join('| ' + ' | '.join(str(cell) for cell in line[:1]) + ' |\\n'`
    """
    assert markdown_table(['file', 'score'], [['a.wav', 1.5], ('b.wav', 'refused')]) == (
        '| file | score |\n| --- | --- |\n| a.wav | 1.5 |\n| b.wav | refused |\n')
