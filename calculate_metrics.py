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

from recovery.recipe import Recipe, method_name
from utils.flags import FlagError, check_recovery_settings, configure, declared_settings

# -----------------------------------------------------------------------------
synth = True                   # synthesized clips G(z) (True) or real clips from data_dir (False)
inverse_mapping = True         # start from the network's z (alone if gradient is False)
gradient = True                # refine z (from random z if inverse_mapping is False)
recipe = Recipe()              # how z is recovered (recovery/recipe.py); each field is a flag, e.g. --max_iter=100
num_clips = 100                # clips measured (the paper used up to 501)
data_dir = 'datasets/fsdd/recordings'  # real clips: SC09 root or FSDD recordings (see datasets/README.md)
split = 'test'                 # FSDD: takes 0-4
generator_dir = 'checkpoint'   # WaveGAN: infer.meta + model.ckpt (old name: --checkpoint_dir)
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'  # the inverse-mapping network
classifier_path = 'classifier_checkpoint/classifier.keras'  # the classifier: accuracy, inception score, loss
batch_size = 32                # clips optimised together
results_dir = 'logs/metrics'   # where the table is written as JSON and markdown
num_workers = 0                # split the clips across workers (0: from TF_CONFIG, else 1)
worker_index = 0               # this worker's share, 0 .. num_workers - 1
merge = False                  # merge the workers' partial results in results_dir into one table
seed = 0                       # of the synthesized clips' z, the real clips' choice and random starts
# -----------------------------------------------------------------------------

import numpy as np

from models.resnet import load_classifier, predict
from models.wavegan import random_z, synthesize
from recovery.profile import Profile
from recovery.recover import load_models, measure, recover
from utils.audio import noise_floor
from utils.data import load_clips, split_files
from utils.distribute import merge_shares, report_share, share_of, worker_split


def validate(s):
    check_recovery_settings(s)
    if s['num_clips'] < 2:
        raise FlagError('--num_clips must be at least 2')


def measure_share(*, synth, method, recipe, num_clips, data_dir, split, generator_dir, inverse_path, classifier_path,
                  batch_size=32, workers=1, worker_index=0, seed=0):
    """Recover this worker's share of the clips; return their per-clip measures and the seconds it took."""
    rng = np.random.default_rng([seed, 1])  # not the streams gradient-only starts from
    if not synth:  # the clips first: a missing dataset stops the run before any model loads
        files = split_files(data_dir, split)
        files = [files[i] for i in sorted(rng.permutation(len(files))[:num_clips])]
    models = load_models(method, recipe, generator_dir=generator_dir, inverse_path=inverse_path,
                         classifier_path=classifier_path)
    generator = models.generator
    classifier = models.classifier if models.classifier is not None else load_classifier(classifier_path)

    def classify(audio):
        return predict(classifier, audio, batch_size)

    if synth:
        ids = share_of(list(range(num_clips)), workers, worker_index, batch_size)
        z_true = random_z(num_clips, rng)[ids]
        originals = synthesize(generator, z_true, batch_size)  # batches as recovered: a share is whole ones
        labels = np.argmax(classify(originals), axis=-1)  # agreement with the original's predicted digit
        floors = None
    else:
        ids = share_of(list(range(len(files))), workers, worker_index, batch_size)
        originals, labels, kept, refused = load_clips([files[i] for i in ids], desc='reading clips')
        for failure in refused:
            print(f'refused {failure}')
        ids = [i for i in ids if files[i] in kept]
        floors = np.array([noise_floor(path) for path in kept])
        z_true = None
    kind = 'synthesized' if synth else 'real'
    print(recipe.plan(method, len(originals), f'{kind} clips', batch_size))
    timing = Profile()
    recovered = recover(originals, method, models, recipe, floors=floors, batch_size=batch_size, seed=seed,
                        clip_ids=ids, profile=timing)
    measures, _ = measure(generator, originals, recovered, floors=floors, z_true=z_true, kinds=[kind] * len(originals),
                          classify=classify, labels=labels)
    if not synth:
        measures['original_probabilities'] = classify(originals)
    return measures, timing.total


def main():
    config = declared_settings(globals())  # what is recorded beside the results
    method = method_name(inverse_mapping, gradient)
    source = 'synthesized' if synth else f'real-{os.path.basename(os.path.normpath(data_dir))}-{split}'
    name = f'{source}_{method}'
    header = {'set': 'synthesized' if synth else f'real ({data_dir}, {split})', 'method': method}
    if merge:
        merge_shares(results_dir, name, header, config)
        return
    workers, index = worker_split(num_workers, worker_index)
    measures, seconds = measure_share(
        synth=synth, method=method, recipe=recipe, num_clips=num_clips, data_dir=data_dir, split=split,
        generator_dir=generator_dir, inverse_path=inverse_path, classifier_path=classifier_path, batch_size=batch_size, workers=workers, worker_index=index, seed=seed)
    report_share(results_dir, name, header, measures, seconds, config, workers, index)


if __name__ == '__main__':
    configure(globals(), validate=validate)
    main()
