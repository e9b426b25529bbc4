"""Recovery benchmark: every method, and the paper's recipe as a baseline, on synthesized and real clips.

Synthesized set: `synth_clips` z drawn with a fixed seed and their audio G(z). Real set: FSDD's test
takes (0-4 of every speaker), and any folder named by `extra_dir` (SC09's test set, say). Rows: random
z, network alone, gradient-only, hybrid, hybrid_fast (hybrid cut to about the paper's cost: 2
Jacobians, 100 L-BFGS iterations), and the paper's recipe (hybrid with its loss, unbounded L-BFGS,
200 iterations). Every figure comes from the same run on the same machine. Writes
`{results_dir}/recovery.md` and `.json`.

    python benchmarks/recovery.py
    python benchmarks/recovery.py --synth_clips=50 --real_clips=50   # a quick look
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
synth_clips = 200
real_clips = 0                 # 0: every clip of the split
rows = 'random,network_unrefined,network,gradient,hybrid,hybrid_fast,paper'  # any of ROW_NAMES
# our recovery recipe, as in latent_vector_recovery.py; the 'paper' row replaces it with PAPER_RECOVERY
max_iter = 200
refine_steps = 4
gauss_newton_iterations = 5
chord_steps = 8
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


config = configure(globals(), validate=validate)

import numpy as np

from models.resnet import load_classifier, load_inverse_mapping
from models.tf1_loader import load_generator
from utils.audio import list_audio_files, save_json, save_text
from utils.data import load_clips, normalize_level, split_files
from utils.flags import name_list
from utils.metrics import accuracy, recovery_report
from utils.recovery import random_z, recover, recovery_objective, synthesize

RECIPE_KEYS = ('refine_steps', 'max_iter', 'gauss_newton_iterations', 'chord_steps', 'fallback_snr', 'lbfgs_bounded',
               'recovery_loss', 'perceptual_layers', 'perceptual_weight', 'spectral_weight')
OURS = {k: config[k] for k in RECIPE_KEYS}
FAST = {**OURS, 'gauss_newton_iterations': 2, 'max_iter': 100}
PAPER = {**OURS, **PAPER_RECOVERY}
ROWS = {'random': ('random', OURS), 'network_unrefined': ('network', {**OURS, 'refine_steps': 0}),
        'network': ('network', OURS), 'gradient': ('gradient', OURS),
        'hybrid': ('hybrid', OURS), 'hybrid_fast': ('hybrid', FAST),
        'paper': ('hybrid', PAPER)}  # row -> (method, recipe)

generator = load_generator(checkpoint_dir)
classifier = load_classifier(classifier_path)
network = load_inverse_mapping(inverse_path)


def classify(audio):
    return classifier.predict(audio, batch_size=100, verbose=0)


def accuracy_by_digit(probabilities, labels):
    """{digit: accuracy of the reconstructions of its clips}: which digits the generator can say."""
    predicted = np.argmax(probabilities, axis=-1)
    return {int(d): float(np.mean(predicted[labels == d] == d)) for d in np.unique(labels)}


def recover_with(method, recipe, audio):
    """z for each clip by one row's method and recipe, and the seconds it took."""
    started = time.time()
    if method == 'random':
        return random_z(len(audio), np.random.default_rng([seed, 2])), time.time() - started
    objective = recovery_objective(recipe['recovery_loss'], classifier, name_list(recipe['perceptual_layers']),
                                   recipe['perceptual_weight'], recipe['spectral_weight'])
    z = recover(audio, method, generator, objective, network, recipe['max_iter'], recipe['lbfgs_bounded'],
                batch_size, seed, recipe['gauss_newton_iterations'], recipe['fallback_snr'],
                chord_steps=recipe['chord_steps'], refine_steps=recipe['refine_steps'])
    return z, time.time() - started


def real_set(files, name):
    audio, labels, _, failures = load_clips(files, desc=f'reading {name}')
    for failure in failures:
        print(f'skipped {failure}')
    return name, normalize_level(audio), np.array(labels), None


def clip_sets():
    """(name, audio, labels, true z or None) for the synthesized set and each real set."""
    rng = np.random.default_rng([seed, 1])  # not the stream gradient-only starts from
    z = random_z(synth_clips, rng)
    audio = synthesize(generator, z)
    yield 'synthesized', audio, np.argmax(classify(audio), axis=-1), z
    files = split_files(data_dir, split)
    if real_clips:
        files = [files[i] for i in sorted(rng.permutation(len(files))[:real_clips])]
    yield real_set(files, f'real ({os.path.basename(os.path.normpath(data_dir))} {split})')
    if extra_dir:
        yield real_set(list_audio_files(extra_dir), f'real ({extra_dir})')


results = []
for set_name, audio, labels, z_true in clip_sets():
    original_accuracy = accuracy(classify(audio), labels)
    print(f'{set_name}: {len(audio)} clips, classifier accuracy on the originals {original_accuracy:.3f}')
    for row in name_list(rows):
        method, recipe = ROWS[row]
        z, seconds = recover_with(method, recipe, audio)
        reconstructions = synthesize(generator, z)
        probabilities = classify(reconstructions)
        report = recovery_report(audio, reconstructions, probabilities, labels, seconds, z_true, z)
        by_digit = accuracy_by_digit(probabilities, labels)
        results.append({'set': set_name, 'row': row, 'accuracy on originals': original_accuracy, **report,
                        'accuracy by digit': by_digit})
        print(f'  {row:<11} ' + ', '.join(f'{k} {v:.4g}' for k, v in report.items() if isinstance(v, float)))
        print('              accuracy by digit: ' + ' '.join(f'{d}:{a:.2f}' for d, a in by_digit.items()))

columns = [k for k in results[0] if k not in ('set', 'row', 'accuracy by digit')]
table = ('| set | row | ' + ' | '.join(columns) + ' |\n' + '|---' * (len(columns) + 2) + '|\n' +
         ''.join(f'| {r["set"]} | {r["row"]} | ' +
                 ' | '.join('' if r[c] is None else f'{r[c]:.4g}' if isinstance(r[c], float) else str(r[c])
                            for c in columns) + ' |\n' for r in results))
machine = f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores'
save_text(os.path.join(results_dir, 'recovery.md'), f'Machine: {machine}\n\n{table}')
save_json(os.path.join(results_dir, 'recovery.json'), {'settings': config, 'machine': machine, 'results': results})
print(table)
print(f'written to {results_dir}/recovery.md and .json')
