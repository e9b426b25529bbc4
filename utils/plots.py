"""Pictures of a recovery: waveform and spectrogram of the original beside its reconstruction."""
import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np

from utils.audio import SAMPLE_RATE, atomic_write
from utils.features import log_power_spectrogram


def save_comparison(path, original, reconstruction, title=''):
    """A PNG with two columns (original, reconstruction) of waveform over log-power spectrogram."""
    save_comparisons(path, [(title, original, reconstruction)])


def save_comparisons(path, rows):
    """A PNG with one row per (title, original, reconstruction): waveforms over log-power spectrograms."""
    fig = plt.figure(figsize=(9, 5 * len(rows)), layout='constrained')
    for figure, (title, original, reconstruction) in zip(np.atleast_1d(fig.subfigures(len(rows), 1)), rows):
        specs = log_power_spectrogram(np.stack([original, reconstruction]).astype(np.float32)).numpy()
        low, high = np.percentile(specs, 1), specs.max()
        time = np.arange(len(original)) / SAMPLE_RATE
        axes = figure.subplots(2, 2, sharex=True, gridspec_kw={'height_ratios': [1, 2]})
        for column, (name, audio, spec) in enumerate(zip(('original', 'reconstruction'),
                                                         (original, reconstruction), specs)):
            axes[0, column].plot(time, audio, linewidth=0.5)
            axes[0, column].set(title=name, ylim=(-1, 1))
            axes[1, column].imshow(spec.T, origin='lower', aspect='auto', vmin=low, vmax=high, cmap='magma',
                                   extent=(0, time[-1], 0, SAMPLE_RATE / 2000))
            axes[1, column].set(xlabel='seconds', ylabel='kHz' if column == 0 else None)
        figure.suptitle(title)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=80))
    plt.close(fig)


def spectrogram_images(audio):
    """Log-power spectrograms as images for TensorBoard: [N, 129 bins (low at the bottom), 128 frames, 1] in [0, 1]."""
    specs = log_power_spectrogram(np.asarray(audio, np.float32)).numpy()
    low, high = np.percentile(specs, 1), specs.max()
    images = np.clip((specs - low) / max(high - low, 1e-6), 0, 1)
    return np.flip(np.transpose(images, (0, 2, 1)), axis=1)[..., None]
