"""Recovery benchmark: every method, and the paper's recipe as a baseline, on synthesized and real clips.

Synthesized set: `synth_clips` z drawn with a fixed seed and their audio G(z). Real set: FSDD's test
takes (0-4 of every speaker), and any folder named by `extra_dir` (SC09's test set, say). Rows: random
z, network alone, gradient-only, hybrid, hybrid_fast (hybrid cut to 2 Jacobians a clip and 100 L-BFGS
iterations), and the paper's recipe (hybrid with its loss, unbounded L-BFGS, 200 iterations). Every
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
from utils.flags import PAPER_RECOVERY, configure

# -----------------------------------------------------------------------------
checkpoint_dir = 'checkpoint'
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'
classifier_path = 'classifier_checkpoint/classifier.keras'
data_dir = '../shared/datasets/fsdd/recordings'
split = 'test'                 # FSDD: takes 0-4, 300 clips
extra_dir = ''                 # another folder of real clips (labels from file or folder names)
sets = 'synthesized,real'      # which sets to measure
synth_clips = 200
real_clips = 0                 # 0: every clip of the split
official_meta = ''             # measure this official MetaGraph (d=64) with fresh weights instead of checkpoint_dir
readout_clips = 4000           # clips the linear readout is fitted on, with official_meta
rows = 'random,network_unrefined,network,gradient,hybrid,hybrid_fast,paper'  # any of ROW_NAMES
# our recovery recipe, as in latent_vector_recovery.py; the 'paper' row replaces it with PAPER_RECOVERY
max_iter = 200
refine_steps = 32
gauss_newton_iterations = 12
chord_steps = 8
restarts = 5
fallback_snr = 20.0
lbfgs_bounded = True
recovery_loss = 'perceptual'
perceptual_layers = 'stem,stage1,stage2,stage3,stage4,pool'
perceptual_weight = 30.0
spectral_weight = 1.0
results_dir = 'logs/benchmarks'
batch_size = 32
seed = 0
# -----------------------------------------------------------------------------

ROW_NAMES = ('random', 'network_unrefined', 'network', 'gradient', 'hybrid', 'hybrid_fast', 'paper')


def validate(s):
    from utils.flags import FlagError
    unknown = set(s['rows'].split(',')) - set(ROW_NAMES)
    if unknown:
        raise FlagError(f'--rows: unknown rows {sorted(unknown)}; known: {",".join(ROW_NAMES)}')
    if set(s['sets'].split(',')) - {'synthesized', 'real'}:
        raise FlagError(f'--sets={s["sets"]}: expected synthesized, real or both')


config = configure(globals(), validate=validate)

import numpy as np

from models.resnet import load_classifier, load_inverse_mapping, resnet
from models.tf1_loader import complete_metagraph, load_generator
from models.wavegan import init_generator_weights
from utils.audio import list_audio_files, save_json, save_text
from utils.data import load_clips, normalize_level, split_files
from utils.flags import name_list
from utils.metrics import accuracy, recovery_report
from utils.recovery import Profile, random_z, recover, recovery_objective, synthesize
from utils.training import fit_linear_readout

RECIPE_KEYS = ('refine_steps', 'max_iter', 'gauss_newton_iterations', 'chord_steps', 'restarts', 'fallback_snr', 'lbfgs_bounded',
               'recovery_loss', 'perceptual_layers', 'perceptual_weight', 'spectral_weight')
OURS = {k: config[k] for k in RECIPE_KEYS}
FAST = {**OURS, 'gauss_newton_iterations': 2, 'max_iter': 100}
PAPER = {**OURS, **PAPER_RECOVERY}
ROWS = {'random': ('random', OURS), 'network_unrefined': ('network', {**OURS, 'refine_steps': 0}),
        'network': ('network', OURS), 'gradient': ('gradient', OURS),
        'hybrid': ('hybrid', OURS), 'hybrid_fast': ('hybrid', FAST),
        'paper': ('hybrid', PAPER)}  # row -> (method, recipe)

classifier = load_classifier(classifier_path)
if official_meta:
    folder = os.path.join(results_dir, 'official_d64')
    if not os.path.isfile(os.path.join(folder, 'model.ckpt.index')):
        complete_metagraph(official_meta, folder, init_generator_weights(64, seed))
    generator = load_generator(folder)
    network = resnet(100, widths=(4,), blocks=(1,), linear_readout=True)  # its ResNet head starts at zero
    fit_linear_readout(network, generator, readout_clips, seed=seed)
else:
    generator = load_generator(checkpoint_dir)
    network = load_inverse_mapping(inverse_path)


def classify(audio):
    return classifier.predict(audio, batch_size=100, verbose=0)


def accuracy_by_digit(probabilities, labels):
    """{digit: accuracy of the reconstructions of its clips}: which digits the generator can say."""
    predicted = np.argmax(probabilities, axis=-1)
    return {int(d): float(np.mean(predicted[labels == d] == d)) for d in np.unique(labels)}


def recover_with(method, recipe, audio):
    """z for each clip by one row's method and recipe, and the Profile of where its time went."""
    profile = Profile()
    if method == 'random':
        started = time.perf_counter()
        z = random_z(len(audio), np.random.default_rng([seed, 2]))
        profile.total = time.perf_counter() - started
        return z, profile
    objective = recovery_objective(recipe['recovery_loss'], classifier, name_list(recipe['perceptual_layers']),
                                   recipe['perceptual_weight'], recipe['spectral_weight'])
    z = recover(audio, method, generator, objective, network, recipe['max_iter'], recipe['lbfgs_bounded'],
                batch_size, seed, recipe['gauss_newton_iterations'], recipe['fallback_snr'],
                chord_steps=recipe['chord_steps'], refine_steps=recipe['refine_steps'], restarts=recipe['restarts'],
                profile=profile)
    return z, profile


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
    if 'real' not in sets:
        return
    files = split_files(data_dir, split)
    if real_clips:
        files = [files[i] for i in sorted(rng.permutation(len(files))[:real_clips])]
    yield real_set(files, f'real ({os.path.basename(os.path.normpath(data_dir))} {split})')
    if extra_dir:
        yield real_set(list_audio_files(extra_dir), f'real ({extra_dir})')


def where_time_went(profile, clips):
    """A row's seconds per clip in each stage, and its generator passes per clip (forward, tangent, backward)."""
    return {**{f'{stage} (s/clip)': seconds / clips for stage, seconds in profile.seconds.items()},
            **{f'{kind} passes per clip': count / clips for kind, count in profile.passes.items()}}


def markdown(results, columns):
    return ('| set | row | ' + ' | '.join(columns) + ' |\n' + '|---' * (len(columns) + 2) + '|\n' +
            ''.join(f'| {r["set"]} | {r["row"]} | ' +
                    ' | '.join('' if r[c] is None else f'{r[c]:.4g}' if isinstance(r[c], float) else str(r[c])
                               for c in columns) + ' |\n' for r in results))


results, costs = [], []
for set_name, audio, labels, z_true in clip_sets():
    original_accuracy = accuracy(classify(audio), labels)
    print(f'{set_name}: {len(audio)} clips, classifier accuracy on the originals {original_accuracy:.3f}')
    for row in name_list(rows):
        method, recipe = ROWS[row]
        z, profile = recover_with(method, recipe, audio)
        reconstructions = synthesize(generator, z)
        probabilities = classify(reconstructions)
        report = recovery_report(audio, reconstructions, probabilities, labels, profile.total, z_true, z)
        by_digit = accuracy_by_digit(probabilities, labels)
        results.append({'set': set_name, 'row': row, 'accuracy on originals': original_accuracy, **report,
                        'accuracy by digit': by_digit})
        costs.append({'set': set_name, 'row': row, 'seconds per clip': report['seconds per clip'],
                      **where_time_went(profile, len(audio))})
        print(f'  {row:<11} ' + ', '.join(f'{k} {v:.4g}' for k, v in report.items() if isinstance(v, float)))
        print('              accuracy by digit: ' + ' '.join(f'{d}:{a:.2f}' for d, a in by_digit.items()))

table = markdown(results, [k for k in results[0] if k not in ('set', 'row', 'accuracy by digit')])
cost_table = markdown(costs, [k for k in costs[0] if k not in ('set', 'row')])
machine = f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores'
generator_name = f'{official_meta} (d=64, WaveGAN-initialised weights)' if official_meta else checkpoint_dir
save_text(os.path.join(results_dir, 'recovery.md'),
          f'Machine: {machine}; generator: {generator_name}\n\n{table}\nWhere the time went:\n\n{cost_table}')
save_json(os.path.join(results_dir, 'recovery.json'), {'settings': config, 'machine': machine, 'results': results,
                                                       'costs': costs})
print(table)
print(cost_table)
print(f'written to {results_dir}/recovery.md and .json')
