"""The measures (utils/metrics.py): waveform, latent and spectral errors, SSIM, inception score, STOI and the
report."""
import numpy as np
import pytest
import tensorflow as tf

from utils import metrics
from utils.data import load_clips, split_files


def test_waveform_and_latent_measures_on_known_cases():
    """A reconstruction at 0.9 of the original is 20 dB SNR; an offset of 0.1 is an audio MSE of 0.01; three of
    five latent errors at 1e-6 or less are 60% of clips exact.
    Break: utils/metrics.py: `np.sum((original - reconstruction) ** 2, axis=-1))` -> `np.sum(np.abs(original - reconstruction), axis=-1))`
    Break: utils/metrics.py: `return np.mean((original - reconstruction) ** 2, axis=-1)` -> `return np.mean(np.abs(original - reconstruction), axis=-1)`
    Break: utils/metrics.py: `return np.mean((z_true - z_pred) ** 2, axis=-1)` -> `return np.sum((z_true - z_pred) ** 2, axis=-1)`
    Break: utils/metrics.py: `EXACT = 1e-6` -> `EXACT = 1e-7`
    """
    a = np.random.default_rng(0).normal(size=(2, 16384)).astype(np.float32) * 0.1
    np.testing.assert_allclose(metrics.snr_db(a, 0.9 * a), 20, rtol=1e-4)
    np.testing.assert_allclose(metrics.audio_mse(a, a + 0.1), 0.01, rtol=1e-4)
    np.testing.assert_allclose(metrics.latent_mse(np.zeros((1, 100)), np.full((1, 100), 0.5)), 0.25)
    latent = np.array([0, 1e-7, 1e-6, 2e-6, 1.0])
    table = metrics.summarize({'latent_mse': latent, 'snr': np.zeros(5), 'audio_mse': np.zeros(5), 'ssim': np.zeros(5),
                               'lsd': np.zeros(5), 'stoi': np.full(5, np.nan)})
    assert table['clips exact'] == 0.6 and table['latent MSE (median)'] == 1e-6
    assert table['latent MSE (90th percentile)'] == pytest.approx(np.percentile(latent, 90))


def test_log_spectral_distance_is_in_db_over_the_frames_where_the_original_sounds():
    """Ten times the amplitude is 20 dB; errors where the original is silent (a short clip's padding) and more
    than 80 dB under its loudest bin are not scored.
    Break: utils/features.py: `return 10.0 * tf.math.log(tf.abs(stft(audio)) ** 2 + 1e-20) / tf.math.log(10.0)` -> `return 10.0 * tf.math.log(tf.abs(stft(audio)) ** 2 + 1e-20)`
    Break: utils/metrics.py: `return np.sum(per_frame * sounding, axis=1) / np.sum(sounding, axis=1)` -> `return np.mean(per_frame, axis=1)`
    Break: utils/features.py: `floor = tf.reduce_max(a, axis=[-2, -1], keepdims=True) - floor_db` -> `floor = tf.reduce_max(a, axis=[-2, -1], keepdims=True) - 400.0`
    """
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.normal(size=(2, 16384))).astype(np.float32)
    np.testing.assert_allclose(metrics.log_spectral_distance(noise, 10 * noise), 20, rtol=1e-4)
    np.testing.assert_allclose(metrics.log_spectral_distance(noise, noise), 0, atol=1e-6)
    padded = noise.copy()
    padded[:, 8192:] = 0  # half a second of sound, then silence
    assert np.all(metrics.log_spectral_distance(padded, noise) < 1)  # only the frame across the edge differs
    tone = np.sin(2 * np.pi * 440 * np.arange(16384) / 16000).astype(np.float32)[None] * 0.5
    hiss = tone + 1e-6 * rng.normal(size=tone.shape).astype(np.float32)  # about 110 dB under the tone's peak bin
    assert metrics.log_spectral_distance(tone, hiss)[0] < 0.5


def test_spectrogram_ssim_is_tensorflows_ssim_over_the_sounding_frames():
    """The SSIM map averages to tf.image.ssim; a reconstruction that is exact where the original sounds and loud
    where it is silent scores near 1 (averaged over every frame it would score about 0.5).
    Break: utils/metrics.py: `c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2` -> `c1, c2 = (k2 * max_val) ** 2, (k1 * max_val) ** 2`
    Break: utils/metrics.py: `rows = np.where(centred.any(axis=1, keepdims=True), centred, touching)` -> `rows = np.ones_like(centred)`
    """
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(2, 3, 40, 41))
    y = np.clip(x + 0.3 * y - 0.15, 0, 1)
    expected = tf.image.ssim(tf.constant(x[..., None], tf.float32), tf.constant(y[..., None], tf.float32), 1.0)
    np.testing.assert_allclose(metrics.ssim_map(x, y).mean(axis=(1, 2)), expected.numpy(), rtol=1e-4)
    noise = (0.1 * rng.normal(size=(2, 16384))).astype(np.float32)
    np.testing.assert_allclose(metrics.spectrogram_ssim(noise, noise), 1, atol=1e-6)
    assert np.all(metrics.spectrogram_ssim(noise, noise + 0.3 * rng.normal(size=noise.shape).astype(np.float32)) < 0.9)
    padded = noise.copy()
    padded[:, 8192:] = 0
    assert np.all(metrics.spectrogram_ssim(padded, noise) > 0.9)


def test_inception_score_accuracy_and_digits_heard_on_known_cases():
    """Uniform predictions score 1, ten confident digits 10, and one confident clip beside one torn between two
    digits exp(mean KL) = 1.2408, the exponential of the two entropies' difference.
    Break: utils/metrics.py: `scores.append(np.exp(kl.mean()))` -> `scores.append(np.exp(kl.max()))`
    Break: utils/metrics.py: `return float(np.mean(np.argmax(probabilities, axis=-1) == np.asarray(labels)))` -> `return float(np.max(np.argmax(probabilities, axis=-1) == np.asarray(labels)))`
    Break: utils/metrics.py: `minlength=np.shape(probabilities)[-1])` -> `minlength=1)`
    Break: utils/metrics.py: `return float(-np.sum(marginal * np.log(marginal + eps))), float(np.mean(-np.sum(p * np.log(p + eps), axis=1)))` -> `return float(-np.sum(marginal * np.log(marginal + eps))), float(np.max(-np.sum(p * np.log(p + eps), axis=1)))`
    """
    assert abs(metrics.inception_score(np.full((10, 10), 0.1)) - 1) < 1e-6
    confident = np.eye(10)
    assert abs(metrics.inception_score(confident) - 10) < 1e-3
    torn = np.array([[1.0, 0.0], [0.5, 0.5]])
    expected = np.exp((np.log(4 / 3) + 0.5 * np.log(2 / 3) + 0.5 * np.log(2)) / 2)
    assert abs(metrics.inception_score(torn) - expected) < 1e-6
    assert metrics.accuracy(confident[[3, 3, 7]], [3, 3, 7]) == 1.0
    assert metrics.accuracy(confident[[3, 3, 7]], [3, 7, 7]) == pytest.approx(2 / 3)
    assert metrics.digits_heard(confident[[3, 3, 7]]) == '0:0 1:0 2:0 3:2 4:0 5:0 6:0 7:1 8:0 9:0'
    marginal, per_clip = metrics.prediction_entropies(torn)
    assert marginal == pytest.approx(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)))
    assert per_clip == pytest.approx(np.log(2) / 2)
    assert np.exp(marginal - per_clip) == pytest.approx(metrics.inception_score(torn), rel=1e-6)


def test_stoi_is_one_for_identical_speech_and_undefined_without_enough_sound(fsdd_small):
    """STOI of a clip against itself is 1, against a noisy copy less, and NaN for a clip with under 384 ms of sound.
    Break: utils/metrics.py: `return np.where(scores == 1e-5, np.nan, scores)` -> `return scores`
    """
    clips, _, _, _ = load_clips(split_files(fsdd_small, 'test')[:6])
    same = metrics.stoi(clips, clips)
    defined = np.isfinite(same)
    assert defined.any()
    np.testing.assert_allclose(same[defined], 1, atol=1e-6)
    noisy = clips + 0.1 * np.random.default_rng(0).normal(size=clips.shape).astype(np.float32)
    assert np.all(metrics.stoi(clips, noisy)[defined] < 0.99)
    blip = np.zeros((1, 16384), np.float32)
    blip[0, :800] = np.sin(np.arange(800) / 3)
    assert np.isnan(metrics.stoi(blip, blip)[0])


def test_the_report_has_a_column_per_kind_of_clip_percentages_and_rounded_figures(tmp_path):
    """Synthesized and real clips get a column each; shares print as percentages, other figures to four
    significant digits; latent errors count only the clips whose true z is known.
    Break: utils/metrics.py: `        return f'{100 * value:.1f}%'` -> `        return str(value)`
    Break: utils/metrics.py: `        return f'{value:.4g}'` -> `        return str(value)`
    Break: utils/metrics.py: `    return {kind: summarize({k: v[kinds == kind] for k, v in measures.items()}) for kind in order}` -> `    return {'clips': summarize(measures)}`
    Break: utils/metrics.py: `        latent = latent[np.isfinite(latent)]` -> `        latent = latent`
    """
    import re
    rng = np.random.default_rng(0)
    originals = (0.1 * rng.normal(size=(4, 16384))).astype(np.float32)
    reconstructions = originals * np.array([1, 0.999, 0.5, 0.6], np.float32)[:, None]  # >100, 60, 6 and 8 dB
    z_true = np.array([np.zeros(100), np.zeros(100), np.full(100, np.nan), np.full(100, np.nan)])
    z = np.array([np.zeros(100), np.full(100, 0.01), np.zeros(100), np.zeros(100)])  # latent MSE 0 and 1e-4
    measures = metrics.clip_measures(originals, reconstructions, z_true=z_true, z=z,
                                     kinds=['synthesized', 'synthesized', 'real', 'real'])
    metrics.write_report(str(tmp_path), 'metrics', {'method': 'hybrid'}, metrics.summarize_by_kind(measures), 2.0, {})
    table = (tmp_path / 'metrics.md').read_text()
    assert '| metric | synthesized | real |' in table
    assert '| clips exact | 50.0% | - |' in table and '| clips above 30 dB | 100.0% | 0.0% |' in table
    assert '| latent MSE (median) | 5e-05 | - |' in table
    assert '- seconds per clip: 0.5' in table
    mantissas = [m.replace('.', '').lstrip('0') for m in re.findall(r'(?<![\w.])(\d+\.?\d*)(?:e-?\d+)?', table)]
    assert max(len(m) for m in mantissas) <= 4  # four significant digits at most


def test_a_clip_is_exact_to_its_files_floor_and_a_lossy_clip_is_not_judged():
    """Exact: latent MSE at most 1e-6, or at most twice what the file's rounding leaves of the true z (its latent
    floor), or a z that fits the rounded clip as closely as the true z does; a clip from a lossy file (floor NaN)
    has no exact z and is left out of the share. Of the four judged clips below, three are exact.
    Break: utils/metrics.py: `return np.maximum(EXACT, FLOOR_FACTOR * np.asarray(latent_floor, np.float64))` -> `return np.maximum(EXACT, 0 * np.asarray(latent_floor, np.float64))`
    Break: utils/metrics.py: `hit = (latent <= bound) | measures.get('as_close_as_true', False)` -> `hit = latent <= bound`
    Break: utils/metrics.py: `judged = np.isfinite(latent) & np.isfinite(bound)` -> `judged = np.isfinite(latent)`
    """
    clips = np.ones((5, 16384), np.float32)
    measures = metrics.clip_measures(clips, clips, z_true=np.zeros((5, 100)), z=np.zeros((5, 100)))
    measures['latent_mse'] = np.array([5e-7, 3e-6, 3e-6, 1e-2, 0.0])
    measures['latent_floor'] = np.array([0.0, 2e-6, 0.0, 0.0, np.nan])
    measures['as_close_as_true'] = np.array([False, False, False, True, False])
    assert metrics.summarize(measures)['clips exact'] == 0.75
    np.testing.assert_array_equal(metrics.exact_bound([0.0, 2e-6, 1e-7]), [1e-6, 4e-6, 1e-6])
