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
    """log10 |STFT|^2, the spectrogram the pictures show."""
    return tf.math.log(tf.abs(stft(audio)) ** 2 + eps) / tf.math.log(10.0)


def power_db(audio):
    """10 log10 |STFT|^2 [..., 128 frames, 129 bins], in dB."""
    return 10.0 * tf.math.log(tf.abs(stft(audio)) ** 2 + 1e-20) / tf.math.log(10.0)


def floored_power_db(original, reconstruction, floor_db=80.0):
    """Both clips' power spectrograms in dB, each clamped from below at `floor_db` under the original's
    loudest bin: what lies further down (digital silence, the empty band above an 8 kHz recording's 4 kHz)
    is compared as equal, not by how many orders of magnitude separate two near-zeros."""
    a, b = power_db(original), power_db(reconstruction)
    floor = tf.reduce_max(a, axis=[-2, -1], keepdims=True) - floor_db
    return tf.maximum(a, floor), tf.maximum(b, floor)


def sounding_frames(audio, within_db=60.0):
    """[..., 128] booleans: the STFT frames whose energy is within `within_db` of the clip's loudest frame
    (not the silence a short clip is padded with)."""
    energy = 10.0 * tf.math.log(tf.reduce_sum(tf.abs(stft(audio)) ** 2, axis=-1) + 1e-20) / tf.math.log(10.0)
    return energy >= tf.reduce_max(energy, axis=-1, keepdims=True) - within_db
