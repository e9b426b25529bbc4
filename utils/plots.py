"""Pictures of a recovery: waveform and spectrogram of the original beside its reconstruction.

A reconstruction's spectrogram often shows a line at 0 Hz where the original is silent: WaveGAN's
output carries a small constant (DC) offset, inaudible, which the titles give as "DC".
"""
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
        specs = 10 * log_power_spectrogram(np.stack([original, reconstruction]).astype(np.float32)).numpy()  # dB
        low, high = np.percentile(specs, 1), specs.max()
        time = np.arange(len(original)) / SAMPLE_RATE
        axes = figure.subplots(2, 2, sharex=True, gridspec_kw={'height_ratios': [1, 2]})
        for column, (name, audio, spec) in enumerate(zip(('original', 'reconstruction'),
                                                         (original, reconstruction), specs)):
            axes[0, column].plot(time, audio, linewidth=0.5)
            axes[0, column].set(title=f'{name} (DC {np.mean(audio):+.4f})', ylim=(-1, 1))
            image = axes[1, column].imshow(spec.T, origin='lower', aspect='auto', vmin=low, vmax=high, cmap='magma',
                                           extent=(0, time[-1], 0, SAMPLE_RATE / 2000))
            axes[1, column].set(xlabel='seconds', ylabel='kHz' if column == 0 else None)
        figure.colorbar(image, ax=axes[1, :], label='power (dB)')
        figure.suptitle(title)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=80))
    plt.close(fig)


def save_spectrogram(path, audio, low=-80.0, high=40.0):
    """A small PNG of one clip's log-power spectrogram (dB, on a fixed scale so that pictures compare),
    with its colour bar, for the audio examples' page."""
    spec = 10 * log_power_spectrogram(np.asarray(audio, np.float32)[None]).numpy()[0]
    fig, axis = plt.subplots(figsize=(3.2, 1.9), layout='constrained')
    image = axis.imshow(spec.T, origin='lower', aspect='auto', vmin=low, vmax=high, cmap='magma',
                        extent=(0, len(audio) / SAMPLE_RATE, 0, SAMPLE_RATE / 2000))
    axis.set(xlabel='seconds', ylabel='kHz')
    fig.colorbar(image, ax=axis, label='dB')
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=72))
    plt.close(fig)


def spectrogram_images(audio):
    """Log-power spectrograms as images for TensorBoard: [N, 129 bins (low at the bottom), 128 frames, 1] in [0, 1]."""
    specs = log_power_spectrogram(np.asarray(audio, np.float32)).numpy()
    low, high = np.percentile(specs, 1), specs.max()
    images = np.clip((specs - low) / max(high - low, 1e-6), 0, 1)
    return np.flip(np.transpose(images, (0, 2, 1)), axis=1)[..., None]


def save_roc_curves(path, curves, title=''):
    """A PNG of ROC curves, one per (label, false-positive rates, true-positive rates), the false-positive
    axis in log scale where detectors differ (1e-3 .. 1)."""
    fig, axis = plt.subplots(figsize=(5.5, 4.5), layout='constrained')
    for label, fpr, tpr in curves:
        axis.step(np.maximum(fpr, 1e-3), tpr, where='post', label=label)
    axis.set(xscale='log', xlim=(1e-3, 1), ylim=(0, 1.01), xlabel='false positive rate (real called fake)',
             ylabel='true positive rate (fakes caught)', title=title)
    axis.legend(fontsize=8)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90))
    plt.close(fig)


def save_score_histogram(path, groups, xlabel, title='', threshold=None):
    """A PNG of score histograms, one per (label, scores), on shared bins, with the decision threshold."""
    fig, axis = plt.subplots(figsize=(6, 3.5), layout='constrained')
    values = np.concatenate([np.asarray(scores, np.float64) for _, scores in groups])
    bins = np.linspace(values.min(), values.max() + 1e-9, 60)
    for label, scores in groups:
        axis.hist(scores, bins=bins, alpha=0.6, label=label)
    if threshold is not None:
        axis.axvline(threshold, color='k', linestyle='--', linewidth=1, label='threshold')
    axis.set(xlabel=xlabel, ylabel='clips', title=title)
    axis.legend(fontsize=8)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90))
    plt.close(fig)
