"""Trained fake-audio detectors, the baselines recovery is compared with: a two-class head on the frozen
inverse-mapping network's features (the authors' recipe) and logistic regression on the mean log spectrum
(the "vocoder fingerprint" detector the deepfake literature starts from). Both are logistic regressions
on a fixed feature vector, saved as a small .npz."""
import os

import numpy as np

from models.resnet import predict
from utils.errors import UserError

ENCODER_LAYER = 'pool'  # the inverse-mapping network's pooled features, under its output layers
SPECTRUM_FRAME = 512    # samples per frame of the mean log spectrum (257 frequency bins)


def encoder_features(network, audio):
    """The frozen inverse-mapping network's pooled features of clips [N, 16384] -> [N, F]."""
    import keras
    features = keras.Model(network.input, network.get_layer(ENCODER_LAYER).output)
    return predict(features, audio).astype(np.float64)


def mean_log_spectrum(audio, frame=SPECTRUM_FRAME):
    """Each clip's log power spectrum [N, frame // 2 + 1], averaged over its half-overlapping Hann frames."""
    audio = np.asarray(audio, np.float64)
    hop = frame // 2
    starts = np.arange(0, audio.shape[-1] - frame + 1, hop)
    frames = np.stack([audio[:, s:s + frame] for s in starts], axis=1) * np.hanning(frame)
    return np.log(np.mean(np.abs(np.fft.rfft(frames, axis=-1)) ** 2, axis=1) + 1e-10)


class LogisticRegression:
    """P(fake | features): standardized features, a linear score, a sigmoid; fitted by full-batch gradient
    descent with an L2 penalty (the score is a two-class softmax head's logit difference)."""

    def __init__(self, weights=None, bias=0.0, mean=None, scale=None):
        self.weights, self.bias, self.mean, self.scale = weights, float(bias), mean, scale

    def fit(self, features, labels, l2=1e-3, steps=2000, learning_rate=0.5):
        """Fit to features [N, F] with labels 1 (fake) and 0 (real), each class weighted equally."""
        features, labels = np.asarray(features, np.float64), np.asarray(labels, np.float64)
        self.mean, self.scale = features.mean(axis=0), features.std(axis=0) + 1e-8
        x = (features - self.mean) / self.scale
        weight = np.where(labels == 1, 0.5 / max(labels.sum(), 1), 0.5 / max((1 - labels).sum(), 1))
        self.weights, self.bias = np.zeros(x.shape[1]), 0.0
        for _ in range(steps):
            error = (sigmoid(x @ self.weights + self.bias) - labels) * weight
            self.weights -= learning_rate * (x.T @ error + l2 * self.weights)
            self.bias -= learning_rate * error.sum()
        return self

    def logit(self, features):
        return ((np.asarray(features, np.float64) - self.mean) / self.scale) @ self.weights + self.bias

    def probability(self, features):
        return sigmoid(self.logit(features))

    def save(self, path):
        from utils.audio import save_npy_dict
        save_npy_dict(path, {'weights': self.weights, 'bias': np.array(self.bias), 'mean': self.mean,
                             'scale': self.scale})

    @classmethod
    def load(cls, path, train_command):
        if not os.path.isfile(path):
            raise UserError(f'{path}: no such detector; train one with `{train_command}`')
        try:
            with np.load(path) as saved:
                return cls(saved['weights'], saved['bias'], saved['mean'], saved['scale'])
        except Exception as e:
            raise UserError(f'{path}: not a saved detector ({str(e).splitlines()[0][:200]}); '
                            f'train one with `{train_command}`') from None


def sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(x)))
