"""Measure latent vector recovery: audio MSE, SNR, spectrogram SSIM, log-spectral distance, STOI,
classifier accuracy and inception score of the reconstructions, and latent MSE when z is known.

`synth` picks synthesized clips G(z) (true z known) or real clips from `data_dir`; `inverse_mapping`
and `gradient` pick the method as in the paper (both true: hybrid).

    python calculate_metrics.py
    python calculate_metrics.py --synth=False --gradient=False
    python calculate_metrics.py --config=paper_recovery      # the paper's recovery recipe

Across machines: run `--num_workers=N --worker_index=K` (or under TF_CONFIG) for every K; each
worker recovers its share of the clips and writes partial results; then `--merge=True` prints the
table of the whole set. Clips are dealt out in whole batches, so the merged table equals a single
run's (the timings aside: seconds add up over workers).
"""
import os

from utils.flags import RECOVERY_LOSSES, FlagError, check_recovery_settings, configure

# -----------------------------------------------------------------------------
synth = True                   # synthesized clips G(z) (True) or real clips from data_dir (False)
inverse_mapping = True         # start from the network's z (alone if gradient is False)
gradient = True                # refine z with L-BFGS (from random z if inverse_mapping is False)
max_iter = 200                 # L-BFGS iterations, for clips Gauss-Newton cannot fit exactly
refine_steps = 32              # steps z += K (x - G(z)) on the network's z, K its linear readout (paper: 0)
gauss_newton_iterations = 12   # at most this many Jacobians a clip for Gauss-Newton on the waveform (0: L-BFGS only, as the paper)
chord_steps = 8                # after each, steps that reuse its Jacobian (one generator call each, not 100)
restarts = 5                   # clips Gauss-Newton leaves stuck at the prior's bound start again, those coordinates redrawn
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
num_workers = 0                # split the clips across workers (0: from TF_CONFIG, else 1)
worker_index = 0               # this worker's share, 0 .. num_workers - 1
merge = False                  # merge the workers' partial results in results_dir into one table
seed = 0
# -----------------------------------------------------------------------------


def validate(s):
    check_recovery_settings(s)
    if s['num_clips'] < 2:
        raise FlagError('--num_clips must be at least 2')


config = configure(globals(), validate=validate, choices={'recovery_loss': RECOVERY_LOSSES})

import time

import numpy as np

from models.resnet import load_classifier, load_inverse_mapping, predict
from models.tf1_loader import load_generator
from utils import metrics
from utils.data import load_clips, normalize_level, split_files
from utils.distribute import partial_files, partial_name, share_of, worker_split
from utils.flags import name_list
from utils.recovery import method_name, random_z, recover, recovery_objective, synthesize

method = method_name(inverse_mapping, gradient)
name = f'{"synth" if synth else "real"}_{method}'


def recover_share(num_workers, worker_index):
    """Recover this worker's share of the clips; return their per-clip measures and the seconds it took."""
    rng = np.random.default_rng([seed, 1])  # not the streams gradient-only starts from
    generator = load_generator(checkpoint_dir)
    classifier = load_classifier(classifier_path)
    network = load_inverse_mapping(inverse_path) if inverse_mapping else None

    def classify(audio):
        return predict(classifier, audio, batch_size)

    if synth:
        z_all = random_z(num_clips, rng)
        ids = share_of(list(range(num_clips)), num_workers, worker_index, batch_size)
        z_true = z_all[ids]
        originals = synthesize(generator, z_true, batch_size)  # batches as recovered: a share is whole ones
        labels = np.argmax(classify(originals), axis=-1)  # agreement with the original's predicted digit
    else:
        files = split_files(data_dir, split)
        files = [files[i] for i in sorted(rng.permutation(len(files))[:num_clips])]
        ids = share_of(list(range(len(files))), num_workers, worker_index, batch_size)
        originals, labels, kept, failures = load_clips([files[i] for i in ids], desc='reading clips')
        for failure in failures:
            print(f'skipped {failure}')
        ids = [i for i in ids if files[i] in kept]
        if normalize:
            originals = normalize_level(originals)
        z_true = None

    objective = recovery_objective(recovery_loss, classifier, name_list(perceptual_layers), perceptual_weight,
                                   spectral_weight)
    started = time.time()
    z = recover(originals, method, generator, objective, network, max_iter, lbfgs_bounded, batch_size, seed,
                gauss_newton_iterations, fallback_snr, clip_ids=ids, chord_steps=chord_steps,
                refine_steps=refine_steps, restarts=restarts)
    seconds = time.time() - started
    reconstructions = synthesize(generator, z, batch_size)
    measures = metrics.clip_measures(originals, reconstructions, classify(reconstructions), labels, z_true, z)
    if not synth:
        measures['original_probabilities'] = classify(originals)
    return measures, seconds


def report(measures, seconds, workers=1):
    results = {'set': 'synthesized' if synth else f'real ({data_dir}, {split})', 'method': method,
               **metrics.summarize(measures, seconds)}
    if 'original_probabilities' in measures:
        results['accuracy on originals'] = metrics.accuracy(measures['original_probabilities'], measures['labels'])
    if workers > 1:
        results['workers'] = workers
    metrics.write_report(results_dir, name, results, config)


if merge:
    paths = partial_files(results_dir, name)
    report(*metrics.merge_measures(paths), workers=len(paths))
else:
    workers, index = worker_split(num_workers, worker_index)
    measures, seconds = recover_share(workers, index)
    if workers == 1:
        report(measures, seconds)
    else:
        part = partial_name(name, workers, index)
        metrics.save_measures(os.path.join(results_dir, f'{part}.npz'), measures, seconds)
        print(f'worker {index} of {workers}: {len(measures["snr"])} clips; partial results in {results_dir}/{part}.npz '
              f'(merge them with --merge=True once every worker is done)')
