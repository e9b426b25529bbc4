"""2026-11-29, issue 16: does the perceptual recovery loss lean on a short clip's padded silence?

Hybrid recovery of N real FSDD test clips (seeded pick) with the loss as it is (log10 power with a 1e-10
floor, so padded silence is scored against -10) and with both spectrograms floored 80 dB under the
original's loudest bin (the padding then costs nothing unless the reconstruction is louder there);
prints accuracy, log-spectral distance and SSIM over the sounding frames, median SNR, STOI, seconds.

    python docs/experiments/2026-11-29_loss_floor.py 60
"""
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
import numpy as np  # noqa: E402 (the imports below need the path above)
import tensorflow as tf
from models.resnet import load_classifier, load_inverse_mapping, predict
from models.tf1_loader import load_generator
from utils import metrics
from utils.data import load_clips, normalize_level, split_files
from utils.features import floored_power_db, log_power_spectrogram
from utils.losses import perceptual_loss, perceptual_model
from utils.recovery import recover, synthesize

n = int(sys.argv[1])
G = load_generator(os.path.join(ROOT, 'checkpoint'))
C = load_classifier(os.path.join(ROOT, 'classifier_checkpoint/classifier.keras'))
N = load_inverse_mapping(os.path.join(ROOT, 'inverse_mapping_checkpoint/inverse_mapping.keras'))
files = split_files(os.path.join(ROOT, '..', 'shared', 'datasets', 'fsdd', 'recordings'), 'test')
files = [files[i] for i in sorted(np.random.default_rng(7).permutation(len(files))[:n])]
audio, labels, _, _ = load_clips(files)
audio = normalize_level(audio)
features = perceptual_model(C, ('stem', 'stage1', 'stage2', 'stage3', 'stage4', 'pool'))


def old_loss(o, r):
    lsm = tf.reduce_mean((log_power_spectrogram(o) - log_power_spectrogram(r)) ** 2, axis=[1, 2])
    return lsm + 30.0 * perceptual_loss(features, o, r)


def new_loss(o, r):
    a, b = floored_power_db(o, r)
    return tf.reduce_mean(((a - b) / 10.0) ** 2, axis=[1, 2]) + 30.0 * perceptual_loss(features, o, r)

for name, loss in (('old', old_loss), ('new', new_loss)):
    t = time.time()
    z = recover(audio, 'hybrid', G, loss, N, max_iter=200, gauss_newton_iterations=5, chord_steps=8, refine_steps=4)
    sec = (time.time() - t) / n
    rec = synthesize(G, z)
    acc = metrics.accuracy(predict(C, rec), labels)
    print(f'{name}: accuracy {acc:.3f} LSD(dB, sounding) {metrics.log_spectral_distance(audio, rec).mean():.2f} '
          f'SSIM {metrics.spectrogram_ssim(audio, rec).mean():.3f} SNR median {np.median(metrics.snr_db(audio, rec)):.2f} '
          f'STOI {np.nanmean(metrics.stoi(audio, rec)):.3f} s/clip {sec:.2f}', flush=True)
