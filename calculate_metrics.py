"""Measure latent vector recovery: audio MSE, SNR, spectrogram SSIM, log-spectral distance,
classifier accuracy and inception score of the reconstructions, and latent MSE when z is known.

`synth` picks synthesized clips G(z) (true z known) or real clips from `data_dir`; `inverse_mapping`
and `gradient` pick the method as in the paper (both true: hybrid).

    python calculate_metrics.py
    python calculate_metrics.py --synth=False --gradient=False
"""
import os

from utils.flags import configure

# -----------------------------------------------------------------------------
synth = True                   # synthesized clips G(z) (True) or real clips from data_dir (False)
inverse_mapping = True         # start from the network's z (alone if gradient is False)
gradient = True                # refine z with L-BFGS (from random z if inverse_mapping is False)
max_iter = 500                 # L-BFGS iterations
num_clips = 100                # the paper used up to 501
data_dir = '../shared/datasets/fsdd/recordings'  # real clips: SC09 root or FSDD recordings
split = 'test'                 # FSDD: takes 0-4
checkpoint_dir = 'checkpoint'
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'
classifier_path = 'classifier_checkpoint/classifier.keras'
lbfgs_bounded = True
recovery_loss = 'waveform'     # 'waveform' or 'paper'
perceptual_layers = 'input,stem,stage1,stage2'
perceptual_weight = 1.0
normalize = True               # scale real clips to a peak of 0.95 first
batch_size = 32
results_dir = 'logs/metrics'   # where the table is written as JSON and markdown
seed = 0
# -----------------------------------------------------------------------------


def validate(s):
    from utils.flags import FlagError
    if not (s['inverse_mapping'] or s['gradient']):
        raise FlagError('--inverse_mapping and --gradient are both False: nothing would recover z')
    if s['num_clips'] < 2 or s['max_iter'] < 1 or s['batch_size'] < 1:
        raise FlagError('--num_clips must be at least 2, --max_iter and --batch_size at least 1')


config = configure(globals(), validate=validate)

import time

import numpy as np

from models.resnet import load_model
from models.tf1_loader import load_generator
from utils.audio import save_text
from utils.data import load_clips, normalize_peak, split_files
from utils.flags import name_list
from utils import metrics
from utils.recovery import method_name, random_z, recover, recovery_objective, synthesize
from utils.training import save_json

method = method_name(inverse_mapping, gradient)
rng = np.random.default_rng(seed)
generator = load_generator(checkpoint_dir)
classifier = load_model(classifier_path, 'python train_sc09_classifier.py')
network = load_model(inverse_path, 'python train.py') if inverse_mapping else None


def classify(audio):
    return classifier.predict(audio, batch_size=100, verbose=0)


if synth:
    z_true = random_z(num_clips, rng)
    originals = synthesize(generator, z_true)
    labels = np.argmax(classify(originals), axis=-1)  # agreement with the original's predicted digit
else:
    files = split_files(data_dir, split)
    files = [files[i] for i in sorted(rng.permutation(len(files))[:num_clips])]
    originals, labels, _, failures = load_clips(files, desc='reading clips')
    for failure in failures:
        print(f'skipped {failure}')
    if normalize:
        originals = normalize_peak(originals)

objective = recovery_objective(recovery_loss, classifier, name_list(perceptual_layers), perceptual_weight)
started = time.time()
z = recover(originals, method, generator, objective, network, max_iter, lbfgs_bounded, batch_size, seed)
seconds = time.time() - started
reconstructions = synthesize(generator, z)
probabilities = classify(reconstructions)

results = {
    'set': 'synthesized' if synth else f'real ({data_dir}, {split})',
    'method': method,
    'clips': len(originals),
    'latent MSE': float(np.mean(metrics.latent_mse(z_true, z))) if synth else None,
    'audio MSE': float(np.mean(metrics.audio_mse(originals, reconstructions))),
    'SNR dB': float(np.mean(metrics.snr_db(originals, reconstructions))),
    'spectrogram SSIM': float(np.mean(metrics.spectrogram_ssim(originals, reconstructions))),
    'log-spectral distance': float(np.mean(metrics.log_spectral_distance(originals, reconstructions))),
    'classifier accuracy': metrics.accuracy(probabilities, labels),
    'inception score': metrics.inception_score(probabilities, splits=2),
    'seconds per clip': seconds / len(originals),
}
if not synth:
    results['accuracy on originals'] = metrics.accuracy(classify(originals), labels)

width = max(len(k) for k in results)
for name, value in results.items():
    print(f'{name:<{width}}  {value:.6g}' if isinstance(value, float) else f'{name:<{width}}  {value}')

name = f'{"synth" if synth else "real"}_{method}'
table = '| metric | value |\n|---|---|\n' + ''.join(f'| {k} | {v} |\n' for k, v in results.items())
save_json(os.path.join(results_dir, f'{name}.json'), {'settings': config, 'results': results})
save_text(os.path.join(results_dir, f'{name}.md'), table)
print(f'written to {results_dir}/{name}.json and .md')
