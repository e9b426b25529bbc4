"""Losses of recovery and of the inverse mapping's training, each per clip: [batch] values."""
import tensorflow as tf

from models.resnet import activation_model
from utils.features import log_power_spectrogram, stft


def perceptual_model(classifier, layer_names):
    """Audio -> the classifier's activations at `layer_names`, whose distance is the perceptual loss."""
    return activation_model(classifier, layer_names)


def perceptual_loss(features, original, reconstruction):
    """Mean over layers of the mean absolute difference between the clips' classifier activations."""
    a, b = features(original, training=False), features(reconstruction, training=False)
    if not isinstance(a, (list, tuple)):
        a, b = [a], [b]
    per_layer = [tf.reduce_mean(tf.abs(x - y), axis=list(range(1, len(x.shape)))) for x, y in zip(a, b)]
    return tf.add_n(per_layer) / len(per_layer)


def waveform_sse(original, reconstruction):
    """Sum of squared differences between waveforms: the default recovery objective."""
    return tf.reduce_sum((original - reconstruction) ** 2, axis=-1)


def paper_recovery_loss(features, perceptual_weight):
    """The paper's objective: perceptual MAE + MAE between STFTs + MAE between waveforms."""
    def loss(original, reconstruction):
        spectral = tf.reduce_mean(tf.abs(tf.abs(stft(original)) - tf.abs(stft(reconstruction))), axis=[1, 2])
        waveform = tf.reduce_mean(tf.abs(original - reconstruction), axis=-1)
        return perceptual_weight * perceptual_loss(features, original, reconstruction) + spectral + waveform
    return loss


def log_spectral_mse(original, reconstruction):
    """Mean squared difference of the clips' log10-power spectrograms (what the log-spectral distance measures)."""
    return tf.reduce_mean((log_power_spectrogram(original) - log_power_spectrogram(reconstruction)) ** 2, axis=[1, 2])


def perceptual_recovery_loss(features, spectral_weight, perceptual_weight):
    """Our objective for clips G cannot make exactly: log-spectral MSE + perceptual MAE (deep layers too)."""
    def loss(original, reconstruction):
        return (spectral_weight * log_spectral_mse(original, reconstruction)
                + perceptual_weight * perceptual_loss(features, original, reconstruction))
    return loss


def recovery_objective(recipe, classifier=None):
    """The per-clip loss L-BFGS minimises, by recipe.recovery_loss: 'perceptual' (log-spectral + classifier
    activations), 'waveform' (sum of squared errors) or 'paper' (perceptual + STFT + waveform MAE)."""
    if recipe.recovery_loss == 'waveform':
        return waveform_sse
    if classifier is None:
        raise ValueError(f'the {recipe.recovery_loss!r} recovery loss needs the classifier')
    features = perceptual_model(classifier, recipe.layers)
    if recipe.recovery_loss == 'paper':
        return paper_recovery_loss(features, recipe.perceptual_weight)
    return perceptual_recovery_loss(features, recipe.spectral_weight, recipe.perceptual_weight)
