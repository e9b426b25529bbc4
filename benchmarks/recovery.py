"""Recovery benchmark: every method, and the paper's recipe as a baseline, on synthesized and real clips.

Synthesized set: `synth_clips` z drawn with a fixed seed and their audio G(z). Real set: FSDD's test
takes (0-4 of every speaker), and any folder named by `extra_dir` (SC09's test set, say). Real set at
random onsets: the same takes with each word moved to a seeded random onset (`onset_rows` only). Rows:
random z, network alone (with and without its readout refinement), gradient-only, hybrid,
hybrid_no_shift (hybrid without the shift search), hybrid_fast (hybrid cut to 2 Jacobians a clip, no
restarts and 100 L-BFGS iterations), and the paper's recipe (hybrid with its loss, unbounded L-BFGS,
200 iterations). Every
figure comes from the same run on the same machine; each row also says where its time went (seconds
of each stage, generator passes per clip). Writes `{results_dir}/recovery.md` and `.json`.

With `official_meta` (the official SC09 `infer.meta`) it measures that architecture, WaveGAN d=64,
with WaveGAN-initialised weights in place of the trained ones, which it does not have, and with a
linear readout fitted to that generator as the network (`readout_clips` clips): cost at the size
users run, and whether each method still recovers z there.

    python benchmarks/recovery.py
    python benchmarks/recovery.py --synth_clips=50 --real_clips=50   # a quick look
    python benchmarks/recovery.py --official_meta=checkpoint_sc09/infer.meta --sets=synthesized --synth_clips=8
"""
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from recovery.recipe import PAPER, Recipe
from utils.flags import configure

# -----------------------------------------------------------------------------
generator_dir = 'checkpoint'   # WaveGAN: infer.meta + model.ckpt (old name: --checkpoint_dir)
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'  # the inverse-mapping network
classifier_path = 'classifier_checkpoint/classifier.keras'  # the classifier: accuracy, perceptual loss
data_dir = 'datasets/fsdd/recordings'  # FSDD recordings or SC09 root (see datasets/README.md)
split = 'test'                 # FSDD: takes 0-4, 300 clips
extra_dir = ''                 # another folder of real clips (labels from file or folder names)
sets = 'synthesized,real,real_onsets'  # which sets to measure
synth_clips = 200              # synthesized clips, z drawn with the seed
real_clips = 0                 # real clips drawn from the split (0: every clip of it)
official_meta = ''             # measure this official MetaGraph (d=64) with fresh weights instead of generator_dir
readout_clips = 4000           # clips the linear readout is fitted on, with official_meta
rows = 'random,network_unrefined,network,gradient,hybrid,hybrid_fast,paper'  # any of ROW_NAMES
onset_rows = 'hybrid,hybrid_no_shift,paper'  # the rows of the set at random onsets
recipe = Recipe()              # our recipe (recovery/recipe.py), each field a flag; the 'paper' row uses the paper's
results_dir = 'logs/benchmarks'  # where recovery.md and .json go
batch_size = 32                # clips optimised together
seed = 0                       # of the synthesized clips' z and the real clips' choice
# -----------------------------------------------------------------------------

ROW_NAMES = ('random', 'network_unrefined', 'network', 'gradient', 'hybrid', 'hybrid_no_shift', 'hybrid_fast', 'paper')
SETS = ('synthesized', 'real', 'real_onsets')


def validate(s):
    from utils.flags import FlagError
    for flag in ('rows', 'onset_rows'):
        unknown = set(s[flag].split(',')) - set(ROW_NAMES)
        if unknown:
            raise FlagError(f'--{flag}: unknown rows {sorted(unknown)}; known: {",".join(ROW_NAMES)}')
    if set(s['sets'].split(',')) - set(SETS):
        raise FlagError(f'--sets={s["sets"]}: expected some of {",".join(SETS)}')


import numpy as np

from models.resnet import load_classifier, load_inverse_mapping, resnet
from models.tf1_loader import complete_metagraph, load_generator
from models.training import fit_linear_readout
from models.wavegan import init_generator_weights, random_z, synthesize
from recovery.profile import Profile
from recovery.recover import recover
from utils.audio import list_audio_files, markdown_table, save_json, save_text
from utils.data import load_clips, normalize_level, split_files
from utils.flags import name_list
from utils.metrics import accuracy, format_value, recovery_report
from utils.perturb import random_onsets, shift


def row_recipes(ours):
    """row -> (method, recipe): our recipe, its variants, and the paper's."""
    return {'random': ('random', ours), 'network_unrefined': ('network', ours.replace(refine_steps=0)),
            'network': ('network', ours), 'gradient': ('gradient', ours), 'hybrid': ('hybrid', ours),
            'hybrid_no_shift': ('hybrid', ours.replace(find_shift=False)),
            'hybrid_fast': ('hybrid', ours.replace(gauss_newton_iterations=2, restarts=0, max_iter=100)),
            'paper': ('hybrid', PAPER)}


config = configure(globals(), validate=validate)
ROWS = row_recipes(recipe)
classifier = load_classifier(classifier_path)
if official_meta:
    folder = os.path.join(results_dir, 'official_d64')
    if not os.path.isfile(os.path.join(folder, 'model.ckpt.index')):
        complete_metagraph(official_meta, folder, init_generator_weights(64, seed))
    generator = load_generator(folder)
    network = resnet(100, widths=(4,), blocks=(1,), linear_readout=True)  # its ResNet head starts at zero
    fit_linear_readout(network, generator, readout_clips, seed=seed)
else:
    generator = load_generator(generator_dir)
    network = load_inverse_mapping(inverse_path)


def classify(audio):
    return classifier.predict(audio, batch_size=100, verbose=0)


def accuracy_by_digit(probabilities, labels):
    """{digit: accuracy of the reconstructions of its clips}: which digits the generator can say."""
    predicted = np.argmax(probabilities, axis=-1)
    return {int(d): float(np.mean(predicted[labels == d] == d)) for d in np.unique(labels)}


def recover_with(method, recipe, audio):
    """z and shift for each clip by one row's method and recipe, and the Profile of where its time went."""
    profile = Profile()
    if method == 'random':
        started = time.perf_counter()
        z = random_z(len(audio), np.random.default_rng([seed, 2]))
        profile.total = time.perf_counter() - started
        return z, np.zeros(len(audio), int), profile
    z, shifts = recover(audio, method, generator, network, recipe, classifier=classifier, batch_size=batch_size,
                        seed=seed, profile=profile)
    return z, shifts, profile


def real_set(files, name):
    audio, labels, _, failures = load_clips(files, desc=f'reading {name}')
    for failure in failures:
        print(f'skipped {failure}')
    return name, normalize_level(audio), np.array(labels), None


def clip_sets():
    """(name, audio, labels, true z or None) for the synthesized set and each real set."""
    rng = np.random.default_rng([seed, 1])  # not the stream gradient-only starts from
    z = random_z(synth_clips, rng)
    if 'synthesized' in sets:
        audio = synthesize(generator, z)
        yield 'synthesized', audio, np.argmax(classify(audio), axis=-1), z
    if 'real' not in sets and 'real_onsets' not in sets:
        return
    files = split_files(data_dir, split)
    if real_clips:
        files = [files[i] for i in sorted(rng.permutation(len(files))[:real_clips])]
    name, audio, labels, _ = real_set(files, f'real ({os.path.basename(os.path.normpath(data_dir))} {split})')
    if 'real' in sets:
        yield name, audio, labels, None
    if 'real_onsets' in sets:
        yield f'{name}, words at random onsets', random_onsets(audio, np.random.default_rng([seed, 3]))[0], labels, None
    if extra_dir:
        yield real_set(list_audio_files(extra_dir), f'real ({extra_dir})')


def where_time_went(profile, clips):
    """A row's seconds per clip in each stage, and its generator passes per clip (forward, tangent, backward)."""
    return {**{f'{stage} (s/clip)': seconds / clips for stage, seconds in profile.seconds.items()},
            **{f'{kind} passes per clip': count / clips for kind, count in profile.passes.items()}}


def markdown(results, columns):
    return markdown_table(['set', 'row', *columns],
                          [[r['set'], r['row'], *(format_value(c, r[c]) for c in columns)] for r in results])


results, costs = [], []
for set_name, audio, labels, z_true in clip_sets():
    original_accuracy = accuracy(classify(audio), labels)
    print(f'{set_name}: {len(audio)} clips, classifier accuracy on the originals {original_accuracy:.3f}')
    for row in name_list(onset_rows if 'random onsets' in set_name else rows):
        method, recipe = ROWS[row]
        z, shifts, profile = recover_with(method, recipe, audio)
        reconstructions = shift(synthesize(generator, z), shifts)
        probabilities = classify(reconstructions)
        report = recovery_report(audio, reconstructions, probabilities, labels, profile.total, z_true, z, shifts)
        by_digit = accuracy_by_digit(probabilities, labels)
        results.append({'set': set_name, 'row': row, **report, 'accuracy on originals': original_accuracy,
                        'accuracy by digit': by_digit})
        costs.append({'set': set_name, 'row': row, 'seconds per clip': report['seconds per clip'],
                      **where_time_went(profile, len(audio))})
        print(f'  {row:<11} ' + ', '.join(f'{k} {format_value(k, v)}' for k, v in report.items() if isinstance(v, float)))
        print('              accuracy by digit: ' + ' '.join(f'{d}:{a:.2f}' for d, a in by_digit.items()))

table = markdown(results, [k for k in results[0] if k not in ('set', 'row', 'accuracy by digit')])
cost_table = markdown(costs, [k for k in costs[0] if k not in ('set', 'row')])
machine = f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores'
generator_name = f'{official_meta} (d=64, WaveGAN-initialised weights)' if official_meta else generator_dir
save_text(os.path.join(results_dir, 'recovery.md'),
          f'Machine: {machine}; generator: {generator_name}\n\n{table}\nWhere the time went:\n\n{cost_table}')
save_json(os.path.join(results_dir, 'recovery.json'), {'settings': config, 'machine': machine, 'results': results,
                                                       'costs': costs})
print(table)
print(cost_table)
print(f'written to {results_dir}/recovery.md and .json')
