"""Perturbations of clips (utils/perturb.py), and the benchmarks' named perturbations (benchmarks/clip_sets.py)."""
import numpy as np
import pytest

from benchmarks.clip_sets import PERTURBATION, perturb, perturbation_rng
from conftest import word
from utils.audio import CLIP_LENGTH
from utils.flags import name_list
from utils.perturb import add_noise, change_speed, degrade, gain_db, low_pass, random_onsets, shift, word_extent


def test_perturbations_move_scale_and_cover_a_word_as_they_say():
    """A shift moves samples and lets zeros in; the word's extent is found to the frame; random onsets keep each
    word whole inside the clip and move it; noise lands at the SNR asked over the word; a gain clips at 1; a
    speed change stretches the word by its factor.
    Break: utils/perturb.py: `out[index][s:] = audio[index][:max(length - s, 0)]` -> `out[index][:length - s] = audio[index][:max(length - s, 0)]`
    Break: utils/perturb.py: `latest = np.maximum(audio.shape[-1] - (end - onset), 0)` -> `latest = np.maximum(audio.shape[-1] - onset, 0)`
    Break: utils/perturb.py: `scale = np.sqrt(power / 10 ** (np.asarray(snr_db, np.float64) / 10))[..., None]` -> `scale = np.sqrt(power / 10 ** (np.asarray(snr_db, np.float64) / 20))[..., None]`
    Break: utils/perturb.py: `return np.clip(out, -1, 1) if clip else out` -> `return out`
    Break: utils/perturb.py: `positions = np.arange(int(length / factors[index])) * factors[index]` -> `positions = np.arange(int(length / factors[index])) * 1.0`
    """
    clip = word()
    moved = shift(clip, 37)
    np.testing.assert_array_equal(moved[0, 37:], clip[0, :-37])
    assert not moved[0, :37].any()
    np.testing.assert_array_equal(shift(moved, -37)[0, :-37], clip[0, :-37])
    onset, end = word_extent(clip)
    assert (onset[0], end[0]) == (1920, 6016)  # frames of 128 samples holding the word
    rng = np.random.default_rng(0)
    many = np.repeat(word(onset=0, length=12000), 50, axis=0)
    placed, shifts = random_onsets(many, rng)
    start, stop = word_extent(placed)
    assert np.all(stop <= CLIP_LENGTH) and np.all(np.abs(stop - start - 12032) <= 128) and len(set(shifts)) > 10
    noisy = add_noise(clip, 20.0, rng)
    noise_power = np.mean((noisy - clip)[0] ** 2)
    assert abs(10 * np.log10(np.mean(clip[0, 1920:6016] ** 2) / noise_power) - 20) < 0.3
    assert np.abs(gain_db(clip, 12.0)).max() == 1.0
    faster = change_speed(clip, 1.25)
    assert abs((word_extent(faster)[1][0] - word_extent(faster)[0][0]) - 4096 / 1.25) <= 256


def test_low_pass_and_degrade_take_out_the_highs_of_the_clips_they_say():
    """A low-pass keeps each clip's tones under its own cutoff and takes out those over it; degrade leaves clips as
    they are at share 0 (drawing nothing from its generator, so a recipe without it keeps its stream), and at share 1 takes out a 7.8 kHz tone and adds white noise (energy where there was none);
    at share 0.5 it changes about half the clips.
    Break: utils/perturb.py: `return np.fft.irfft(np.where(above, 0, spectrum), audio.shape[-1], axis=-1).astype(np.float32)` -> `return audio`
    Break: utils/perturb.py: `above = np.fft.rfftfreq(audio.shape[-1], 1 / rate) > np.asarray(cutoff_hz, np.float64)[..., None]` -> `above = np.fft.rfftfreq(audio.shape[-1], 1 / rate) > np.max(cutoff_hz)`
    Break: utils/perturb.py: `audio[hit] = add_noise(lowered, rng.uniform(*noise_snr, len(hit)), rng)` -> `audio[hit] = lowered`
    Break: utils/perturb.py: `hit = np.flatnonzero(rng.random(len(audio)) < share)` -> `hit = np.arange(len(audio))`
    Break: utils/perturb.py: `    if not share:` -> `    if False:`
    """
    t = np.arange(CLIP_LENGTH) / 16000

    def tone(hz):  # whole cycles in the clip, so that the FFT holds each tone in one bin
        return np.sin(2 * np.pi * round(hz * CLIP_LENGTH / 16000) * 16000 / CLIP_LENGTH * t).astype(np.float32)
    low, high = 0.5 * tone(1000), 0.3 * tone(6000)
    lowered = low_pass(np.stack([low + high, low + high]), [4000.0, 7000.0])
    np.testing.assert_allclose(lowered[0], low, atol=1e-4)  # 6 kHz over the first clip's cutoff: gone
    np.testing.assert_allclose(lowered[1], low + high, atol=1e-4)  # under the second's: kept
    clips = np.repeat((low + 0.3 * tone(7800))[None], 200, axis=0)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(degrade(clips, rng, share=0.0), clips)
    assert rng.random() == np.random.default_rng(0).random()
    spectrum = np.abs(np.fft.rfft(degrade(clips[:20], np.random.default_rng(0), share=1.0), axis=1)) ** 2
    frequencies = np.fft.rfftfreq(CLIP_LENGTH, 1 / 16000)
    at_7800 = spectrum[:, np.argmin(np.abs(frequencies - 7800))] / spectrum[:, np.argmin(np.abs(frequencies - 1000))]
    assert np.all(at_7800 < 1e-3)  # the tone was 0.36 of the 1 kHz one's power
    assert np.all(spectrum[:, (frequencies > 7600) & (frequencies < 7700)].sum(axis=1) > 0.1)  # the noise's
    changed = np.any(degrade(clips, np.random.default_rng(1), share=0.5) != clips, axis=1).sum()
    assert 70 < changed < 130


def test_every_perturbation_the_detection_benchmark_names_is_made_and_others_are_refused():
    """Each perturbation of the detection benchmark's default list is a known name and gives clips of the same shape
    (the same clips for 'clean', other clips for the rest), the same for the same stream; an unknown name is refused.
    Break: benchmarks/clip_sets.py: `    if name == 'clean':` -> `    if name == 'none':`
    Break: benchmarks/clip_sets.py: `    rng = np.random.default_rng(rng)` -> `    rng = np.random.default_rng()`
    Break: benchmarks/clip_sets.py: `PERTURBATION = re.compile(r'clean|` -> `PERTURBATION = re.compile(r'xclean|`
    """
    import benchmarks.detection as benchmark
    clips = np.concatenate([word(), word(onset=6000)]) + 0.01
    for name in name_list(benchmark.perturbations):
        assert PERTURBATION.fullmatch(name), name
        out = perturb(name, clips, perturbation_rng(name))
        assert out.shape == clips.shape and np.isfinite(out).all()
        assert np.array_equal(out, clips) == (name == 'clean'), name
        np.testing.assert_array_equal(out, perturb(name, clips, perturbation_rng(name)))
    assert not PERTURBATION.fullmatch('reverb')
    with pytest.raises(ValueError, match='reverb'):
        perturb('reverb', clips, 0)
