"""STFT features of a clip, the input of the classifier and of the inverse-mapping network."""
import tensorflow as tf

FRAME_LENGTH = 256
FRAME_STEP = 128


def stft(audio):
    """Complex STFT [..., 128 frames, 129 bins] of [..., 16384] audio, as the paper frames it."""
    return tf.signal.stft(audio, frame_length=FRAME_LENGTH, frame_step=FRAME_STEP, pad_end=True)


def spectrogram(audio, kind='log_magnitude', channels=1):
    """Features [..., 128, 129, channels]: 'log_magnitude' = log(1 + |STFT|), or 'magnitude'.

    The paper cast the complex STFT to float, which keeps only its real part; we use the magnitude.
    """
    magnitude = tf.abs(stft(audio))
    if kind == 'log_magnitude':
        magnitude = tf.math.log1p(magnitude)
    elif kind != 'magnitude':
        raise ValueError(f'unknown feature kind {kind!r}: expected log_magnitude or magnitude')
    return tf.repeat(magnitude[..., None], channels, axis=-1)


def log_power_spectrogram(audio, eps=1e-10):
    """log10 |STFT|^2, the spectrogram used by the metrics (SSIM, log-spectral distance)."""
    return tf.math.log(tf.abs(stft(audio)) ** 2 + eps) / tf.math.log(10.0)
