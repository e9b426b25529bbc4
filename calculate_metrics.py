"""Measure latent vector recovery: audio MSE, SNR, spectrogram SSIM, log-spectral distance, STOI,
classifier accuracy and inception score of the reconstructions, and latent MSE when z is known.

`synth` picks synthesized clips G(z) (true z known) or real clips from `data_dir`; `inverse_mapping`
and `gradient` pick the method as in the paper (both true: hybrid).

    python calculate_metrics.py
    python calculate_metrics.py --synth=False --gradient=False
    python calculate_metrics.py --config=paper_recovery      # the paper's recovery recipe
"""
import os

from utils.flags import configure

# -----------------------------------------------------------------------------
synth = True                   # synthesized clips G(z) (True) or real clips from data_dir (False)
inverse_mapping = True         # start from the network's z (alone if gradient is False)
gradient = True                # refine z with L-BFGS (from random z if inverse_mapping is False)
max_iter = 200                 # L-BFGS iterations, for clips Gauss-Newton cannot fit exactly
gauss_newton_iterations = 10   # Gauss-Newton steps on the waveform first (0: L-BFGS only, as the paper)
fallback_snr = 20.0            # clips Gauss-Newton leaves below this SNR (dB) get L-BFGS from the start z
lbfgs_bounded = True           # keep z in [-1, 1], WaveGAN's prior (the paper did not)
recovery_loss = 'perceptual'   # L-BFGS loss: 'perceptual' (log-spectral + classifier), 'waveform' or 'paper'
perceptual_layers = 'stem,stage1,stage2,stage3,stage4,pool'  # classifier layers in the loss
perceptual_weight = 30.0
spectral_weight = 1.0          # weight of the log-spectral MSE in the 'perceptual' loss
num_clips = 100                # the paper used up to 501
data_dir = '../shared/datasets/fsdd/recordings'  # real clips: SC09 root or FSDD recordings
split = 'test'                 # FSDD: takes 0-4
checkpoint_dir = 'checkpoint'
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'
classifier_path = 'classifier_checkpoint/classifier.keras'
normalize = True               # scale real clips peaking outside [0.2, 1] (G's range) to 0.95
batch_size = 32
results_dir = 'logs/metrics'   # where the table is written as JSON and markdown
seed = 0
# -----------------------------------------------------------------------------


def validate(s):
    from utils.flags import RECOVERY_LOSSES, FlagError
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
from utils.data import load_clips, normalize_level, split_files
from utils.flags import name_list
from utils import metrics
from utils.recovery import method_name, random_z, recover, recovery_objective, synthesize
from utils.training import save_json

method = method_name(inverse_mapping, gradient)
rng = np.random.default_rng([seed, 1])  # not the stream gradient-only starts from
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
        originals = normalize_level(originals)

objective = recovery_objective(recovery_loss, classifier, name_list(perceptual_layers), perceptual_weight,
                               spectral_weight)
started = time.time()
z = recover(originals, method, generator, objective, network, max_iter, lbfgs_bounded, batch_size, seed,
            gauss_newton_iterations, fallback_snr)
seconds = time.time() - started
reconstructions = synthesize(generator, z)
probabilities = classify(reconstructions)

results = {'set': 'synthesized' if synth else f'real ({data_dir}, {split})', 'method': method,
           **metrics.recovery_report(originals, reconstructions, probabilities, labels, seconds,
                                     z_true if synth else None, z)}
if not synth:
    results['accuracy on originals'] = metrics.accuracy(classify(originals), labels)

width = max(len(k) for k in results)
for name, value in results.items():
    if value is not None:
        print(f'{name:<{width}}  {value:.6g}' if isinstance(value, float) else f'{name:<{width}}  {value}')

name = f'{"synth" if synth else "real"}_{method}'
table = '| metric | value |\n|---|---|\n' + ''.join(f'| {k} | {v} |\n' for k, v in results.items())
save_json(os.path.join(results_dir, f'{name}.json'), {'settings': config, 'results': results})
save_text(os.path.join(results_dir, f'{name}.md'), table)
print(f'written to {results_dir}/{name}.json and .md')
