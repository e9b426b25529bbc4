"""Metrics of recovery: audio error, SNR, spectrogram SSIM, log-spectral distance, accuracy, inception score."""
import os

import numpy as np
import tensorflow as tf

from utils.audio import markdown_table, save_json, save_npy_dict, save_text
from utils.features import floored_power_db, sounding_frames


EXACT = 1e-6  # a clip's z is recovered exactly when its latent MSE is at most this, or, from a file that rounds
FLOOR_FACTOR = 2.0  # its samples, at most this times what the rounding leaves (exact_bound), or when it fits the
                    # clip as closely as the true z's own fit does (the file cannot tell them apart)


def exact_bound(latent_floor):
    """The latent MSE up to which a clip's z counts as recovered exactly: EXACT, or FLOOR_FACTOR times the latent
    MSE that its file's rounding leaves of the true z (`latent_floor`: that of the true z's own fit, see
    recovery.recover.latent_floor), if larger; NaN (never exact) where the file's loss is no rounding."""
    return np.maximum(EXACT, FLOOR_FACTOR * np.asarray(latent_floor, np.float64))


def audio_mse(original, reconstruction):
    """Per-clip mean squared error between waveforms [N, 16384]."""
    return np.mean((original - reconstruction) ** 2, axis=-1)


def snr_db(original, reconstruction):
    """Per-clip signal-to-noise ratio of the reconstruction, in dB."""
    return snr_from_energies(np.sum(original ** 2, axis=-1), np.sum((original - reconstruction) ** 2, axis=-1))


def snr_from_energies(signal, noise, eps=1e-12):
    """The SNR in dB of a signal of energy `signal` (summed squares) beside an error of energy `noise`."""
    return 10 * np.log10((signal + eps) / (noise + eps))


def latent_mse(z_true, z_pred):
    """Per-clip mean squared error between latent vectors [N, 100]: numpy arrays, or tensors in training."""
    if tf.is_tensor(z_true) or tf.is_tensor(z_pred):
        return tf.reduce_mean((z_true - z_pred) ** 2, axis=-1)
    return np.mean((z_true - z_pred) ** 2, axis=-1)


def ssim_map(a, b, max_val=1.0, size=11, sigma=1.5, k1=0.01, k2=0.03):
    """SSIM (Wang et al. 2004) of images [N, H, W] at every size x size Gaussian window, as tf.image.ssim
    computes it before averaging: [N, H - size + 1, W - size + 1]."""
    window = np.exp(-0.5 * ((np.arange(size) - size // 2) / sigma) ** 2)
    window /= window.sum()

    def blur(x):
        x = np.lib.stride_tricks.sliding_window_view(x, size, axis=1) @ window
        return np.lib.stride_tricks.sliding_window_view(x, size, axis=2) @ window

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mean_a, mean_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mean_a ** 2, blur(b * b) - mean_b ** 2, blur(a * b) - mean_a * mean_b
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    return ((2 * mean_a * mean_b + c1) * (2 * cov + c2)) / ((mean_a ** 2 + mean_b ** 2 + c1) * (var_a + var_b + c2))


def spectrogram_ssim(original, reconstruction, size=11):
    """Per-clip SSIM between the clips' power spectrograms (dB, floored 80 dB under the original's loudest
    bin, scaled by their joint range), averaged over the windows centred on frames where the original
    has sound (the paper compared the real parts of the whole STFTs)."""
    a, b = (x.numpy() for x in floored_power_db(tf.constant(original, tf.float32),
                                                  tf.constant(reconstruction, tf.float32)))
    low = np.minimum(a.min(axis=(1, 2), keepdims=True), b.min(axis=(1, 2), keepdims=True))
    scale = np.maximum(np.maximum(a.max(axis=(1, 2), keepdims=True), b.max(axis=(1, 2), keepdims=True)) - low, 1e-6)
    by_row = ssim_map((a - low) / scale, (b - low) / scale, size=size).mean(axis=2)  # [N, frames - size + 1]
    sounding = sounding_frames(tf.constant(original, tf.float32)).numpy()
    centred = sounding[:, size // 2:size // 2 + by_row.shape[1]]
    touching = np.lib.stride_tricks.sliding_window_view(sounding, size, axis=1).any(axis=2)
    rows = np.where(centred.any(axis=1, keepdims=True), centred, touching)  # sound only at the very edges
    return np.sum(by_row * rows, axis=1) / np.maximum(rows.sum(axis=1), 1)


def log_spectral_distance(original, reconstruction):
    """Per-clip log-spectral distance in dB: the RMS over bins of the difference of the clips' power
    spectrograms (dB, floored 80 dB under the original's loudest bin), averaged over the frames where
    the original has sound (within 60 dB of its loudest frame), so padding is not scored."""
    a, b = floored_power_db(tf.constant(original, tf.float32), tf.constant(reconstruction, tf.float32))
    per_frame = tf.sqrt(tf.reduce_mean((a - b) ** 2, axis=-1)).numpy()
    sounding = sounding_frames(tf.constant(original, tf.float32)).numpy()
    return np.sum(per_frame * sounding, axis=1) / np.sum(sounding, axis=1)


def inception_score(probabilities, splits=1, eps=1e-12):
    """exp(E[KL(p(y|x) || p(y))]) of classifier probabilities [N, 10], averaged over `splits` parts."""
    scores = []
    for part in np.array_split(np.asarray(probabilities, np.float64), splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + eps) - np.log(marginal + eps)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores))


def prediction_entropies(probabilities, eps=1e-12):
    """(entropy of the mean prediction, mean entropy of each prediction), in nats: the inception score is
    exp(first - second), so a generator that drops digits lowers the first, and unclear clips raise the second."""
    p = np.asarray(probabilities, np.float64)
    marginal = p.mean(axis=0)
    return float(-np.sum(marginal * np.log(marginal + eps))), float(np.mean(-np.sum(p * np.log(p + eps), axis=1)))


def digits_heard(probabilities):
    """'0:n0 1:n1 ... 9:n9': how many clips the classifier hears as each digit (which digits a generator drops)."""
    counts = np.bincount(np.argmax(probabilities, axis=-1), minlength=np.shape(probabilities)[-1])
    return ' '.join(f'{digit}:{count}' for digit, count in enumerate(counts))


def accuracy(probabilities, labels):
    """The share of clips whose most probable class is their label."""
    return float(np.mean(np.argmax(probabilities, axis=-1) == np.asarray(labels)))


def stoi(original, reconstruction, sample_rate=16000):
    """Per-clip short-time objective intelligibility (Taal et al. 2011) of the reconstruction.

    STOI needs 30 frames (384 ms) of sound after it drops silent frames; for a clip with less it
    is undefined, and this returns NaN there (pystoi would return 1e-5).
    """
    import warnings
    from pystoi import stoi as clip_stoi
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # pystoi warns about each clip with too little sound
        scores = np.array([clip_stoi(a.astype(np.float64), b.astype(np.float64), sample_rate)
                           for a, b in zip(original, reconstruction)])
    return np.where(scores == 1e-5, np.nan, scores)


PERCENTAGES = ('clips exact', 'clips done', 'clips above 30 dB', 'classifier accuracy', 'accuracy on originals', 'clips moved')


def clip_measures(originals, reconstructions, probabilities=None, labels=None, z_true=None, z=None, kinds=None,
                  shifts=None):
    """Per-clip measures of a recovery, as arrays: those a table is made of (see summarize), so that the
    measures of several workers' shares can be concatenated and summarized as one run. A row of z_true
    that is NaN (no true z known for that clip) gives a NaN latent MSE; `kinds` names each clip's kind
    ('synthesized', 'real') for a table by kind; `shifts` the samples each reconstruction was moved by."""
    measures = {'audio_mse': audio_mse(originals, reconstructions), 'snr': snr_db(originals, reconstructions),
                'ssim': spectrogram_ssim(originals, reconstructions),
                'lsd': log_spectral_distance(originals, reconstructions), 'stoi': stoi(originals, reconstructions),
                'kind': np.array(['clips'] * len(originals) if kinds is None else list(kinds), str)}
    if shifts is not None:
        measures['shift'] = np.asarray(shifts)
    if z_true is not None:
        measures['latent_mse'] = latent_mse(np.asarray(z_true, np.float64), z)
    if probabilities is not None:
        measures['probabilities'], measures['labels'] = probabilities, np.asarray(labels)
    return measures


def summarize(measures):
    """The metrics of one method on one set of clips, from their per-clip measures (None: not known).
    Latent errors count the clips whose true z is known."""
    latent, probabilities, snr, intelligibility = (measures.get(k) for k in ('latent_mse', 'probabilities', 'snr',
                                                                               'stoi'))
    exact = None
    if latent is not None:
        bound = exact_bound(measures.get('latent_floor', np.zeros(len(latent))))
        judged = np.isfinite(latent) & np.isfinite(bound)  # a lossy file's clips have no exact z to reach
        hit = (latent <= bound) | measures.get('as_close_as_true', False)
        exact = float(np.mean(hit[judged])) if judged.any() else None
        latent = latent[np.isfinite(latent)]
        latent = latent if len(latent) else None
    return {
        'clips': len(snr),
        'clips exact': exact,
        'clips done': float(np.mean(measures['done'])) if 'done' in measures else None,
        'latent MSE (median)': float(np.median(latent)) if latent is not None else None,
        'latent MSE (90th percentile)': float(np.percentile(latent, 90)) if latent is not None else None,
        'latent MSE (99th percentile)': float(np.percentile(latent, 99)) if latent is not None else None,
        'latent MSE (mean)': float(np.mean(latent)) if latent is not None else None,
        'audio MSE': float(np.mean(measures['audio_mse'])),
        'SNR dB (median)': float(np.median(snr)),
        'clips above 30 dB': float(np.mean(snr > 30)),
        'spectrogram SSIM': float(np.mean(measures['ssim'])),
        'log-spectral distance (dB)': float(np.mean(measures['lsd'])),
        'STOI': float(np.nanmean(intelligibility)) if np.isfinite(intelligibility).any() else None,
        'clips with STOI': int(np.isfinite(intelligibility).sum()),
        'classifier accuracy': accuracy(probabilities, measures['labels']) if probabilities is not None else None,
        'accuracy on originals': (accuracy(measures['original_probabilities'], measures['labels'])
                                  if 'original_probabilities' in measures else None),
        'inception score': inception_score(probabilities) if probabilities is not None else None,
        'clips moved': float(np.mean(measures['shift'] != 0)) if 'shift' in measures else None,
        'shift (median, samples)': float(np.median(measures['shift'])) if 'shift' in measures else None,
        'gain (median)': float(np.median(measures['gain'])) if 'gain' in measures else None,
        'offset (median)': float(np.median(measures['offset'])) if 'offset' in measures else None,
    }


def summarize_by_kind(measures):
    """{kind of clip: its summary}, one per kind the measures hold, in their order of first appearance."""
    kinds = measures['kind']
    order = dict.fromkeys(kinds)
    return {kind: summarize({k: v[kinds == kind] for k, v in measures.items()}) for kind in order}


def recovery_report(originals, reconstructions, probabilities, labels, seconds, z_true=None, z=None, shifts=None):
    """Every recovery metric of one method on one set of clips, and its time, as a dict (None: not known)."""
    clips = len(originals)
    return {**summarize(clip_measures(originals, reconstructions, probabilities, labels, z_true, z, shifts=shifts)),
            'seconds per clip': seconds / clips, 'clips per second': clips / max(seconds, 1e-9)}


def format_value(name, value):
    """A figure as a table shows it: shares as percentages, floats to four significant digits."""
    if value is None:
        return '-'
    if name in PERCENTAGES:
        return f'{100 * value:.1f}%'
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value)


def save_measures(path, measures, seconds):
    """One worker's per-clip measures and its recovery time, for merge_measures."""
    save_npy_dict(path, {**measures, 'seconds': np.array(seconds)})


def merge_measures(paths):
    """The per-clip measures of several workers as one set, and their summed recovery time."""
    parts = []
    for path in paths:
        with np.load(path) as data:
            parts.append({k: data[k] for k in data.files})
    seconds = float(sum(part.pop('seconds') for part in parts))
    return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}, seconds


def write_report(folder, name, header, by_kind, seconds, settings):
    """Print a table of results, a column for each kind of clip, and write it to folder/name.json (with the
    settings) and .md. `header` is a dict of what was run (folder, method); seconds the recovery's time."""
    clips = sum(summary['clips'] for summary in by_kind.values())
    header = {**header, 'seconds per clip': seconds / max(clips, 1)}
    rows = [k for k in next(iter(by_kind.values())) if any(s[k] is not None for s in by_kind.values())]
    table = [['metric', *by_kind]] + [[row, *(format_value(row, s[row]) for s in by_kind.values())] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = [f'{k}: {format_value(k, v)}' for k, v in header.items()]
    print('\n'.join(lines))
    print('\n'.join('  '.join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table))
    markdown = '\n'.join(f'- {line}' for line in lines) + '\n\n' + markdown_table(table[0], table[1:])
    save_json(os.path.join(folder, f'{name}.json'), {'settings': settings, **header, 'results': by_kind})
    save_text(os.path.join(folder, f'{name}.md'), markdown)
    print(f'written to {folder}/{name}.json and .md')
