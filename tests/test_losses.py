"""The recovery losses (recovery/losses.py): the perceptual loss and its log-spectral term."""
import numpy as np
import tensorflow as tf

from models.resnet import resnet
from recovery.losses import log_spectral_mse, perceptual_loss, perceptual_model
from utils.data import load_clips, split_files


def test_perceptual_loss_is_the_mean_absolute_difference_of_activations(fsdd_small):
    """Zero for identical clips, growing with noise, and on the spectrogram layer alone exactly the MAE of the
    clips' spectrograms.
    Break: recovery/losses.py: `a, b = features(original, training=False), features(reconstruction, training=False)` -> `a, b = features(original, training=False), features(original, training=False)`
    Break: recovery/losses.py: `tf.reduce_mean(tf.abs(x - y), axis=list(range(1, len(x.shape))))` -> `tf.reduce_mean((x - y) ** 2, axis=list(range(1, len(x.shape))))`
    """
    classifier = resnet(10, 'softmax', widths=(4, 8), blocks=(1, 1))  # its activations need no training to differ
    features = perceptual_model(classifier, ['input', 'stem', 'stage1', 'stage2'])
    clips, _, _, _ = load_clips(split_files(fsdd_small, 'test')[:4])
    noise = np.random.default_rng(0).normal(size=clips.shape).astype(np.float32)
    losses = [perceptual_loss(features, clips, clips + level * noise).numpy() for level in (0.0, 0.01, 0.1)]
    np.testing.assert_allclose(losses[0], 0, atol=1e-7)
    assert np.all(losses[1] > 0) and np.all(losses[2] > losses[1])
    spectrogram = perceptual_model(classifier, ['input'])
    noisy = clips + 0.1 * noise
    expected = np.mean(np.abs(spectrogram(clips).numpy() - spectrogram(noisy).numpy()), axis=(1, 2, 3))
    np.testing.assert_allclose(perceptual_loss(spectrogram, clips, noisy).numpy(), expected, rtol=1e-5)


def test_the_recovery_loss_log_spectral_term_on_a_known_case():
    """A tenth of the level is 20 dB, two bels, in every bin: a mean squared log10 difference of 4.
    Break: recovery/losses.py: `return tf.reduce_mean((log_power_spectrogram(original) - log_power_spectrogram(reconstruction)) ** 2, axis=[1, 2])` -> `return tf.reduce_mean(tf.abs(log_power_spectrogram(original) - log_power_spectrogram(reconstruction)), axis=[1, 2])`
    """
    clip = (0.1 * np.random.default_rng(0).normal(size=(2, 16384))).astype(np.float32)
    np.testing.assert_allclose(log_spectral_mse(tf.constant(clip), tf.constant(0.1 * clip)).numpy(), 4, rtol=1e-4)
    np.testing.assert_allclose(log_spectral_mse(tf.constant(clip), tf.constant(clip)).numpy(), 0, atol=1e-9)
