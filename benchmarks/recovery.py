"""Recovery benchmark: our methods and the paper's recipe on clips the generator made, as users have them, and on
real speech.

Synthesized sets (benchmarks/clip_sets.py): `synth_clips` z drawn with the seed, and G(z) in memory (the
ceiling) and written to files (float WAV, 16-bit WAV as it is, at -20 dB, and at -6 dB with a DC offset of
0.01, 24-bit FLAC, MP3 at 128 kbit/s), each read back through the loader the scripts use, with its file's
noise floor. A clip is exact when its latent MSE is at most 1e-6, or, from a file that rounds its samples,
when its z is as close as the rounding allows (utils.metrics.exact_bound); an MP3 clip has no exact z.
Real sets: FSDD's test takes (0-4 of every speaker), and the same takes with each word at a seeded random
onset. Rows: `rows` on the clips in memory, `file_rows` on the files, `real_rows` and `onset_rows` on the real
sets: the network alone, hybrid, hybrid_fast (2 Jacobians a clip, no restarts, 100 L-BFGS iterations),
hybrid_no_shift, gradient-only, random z, and the paper's recipe. Every row comes from one run on the same
clips; each says where its time went. Each finished row is kept in `{results_dir}/recovery_rows.json`, so that
an interrupted run goes on where it stopped; `{results_dir}/recovery.md` and `.json` hold the tables.

With `official_meta` (the official SC09 `infer.meta`) it measures that architecture, WaveGAN d=64, with
WaveGAN-initialised weights in place of the trained ones, which it does not have, and with a linear readout
fitted to that generator as the network (`readout_clips` clips): cost at the size users run.

    python benchmarks/recovery.py
    python benchmarks/recovery.py --synth_clips=50 --sets=memory,pcm16   # a quick look
    python benchmarks/recovery.py --official_meta=checkpoint_sc09/infer.meta --sets=memory --synth_clips=8
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from recovery.recipe import Recipe
from utils.flags import configure

# -----------------------------------------------------------------------------
generator_dir = 'checkpoint'   # WaveGAN: infer.meta + model.ckpt (old name: --checkpoint_dir)
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'  # the inverse-mapping network
classifier_path = 'classifier_checkpoint/classifier.keras'  # the classifier: accuracy, perceptual loss
data_dir = 'datasets/fsdd/recordings'  # FSDD recordings or SC09 root (see datasets/README.md), for the real sets
split = 'test'                 # FSDD: takes 0-4, 300 clips
sets = 'memory,float,pcm16,pcm16_quiet,pcm16_offset,flac24,mp3,real,real_onsets'  # which sets to measure
synth_clips = 200              # synthesized clips, z drawn with the seed
real_clips = 0                 # real clips drawn from the split (0: every clip of it)
rows = 'network,hybrid,hybrid_fast,paper'  # the rows on the synthesized clips in memory (any of ROW_NAMES)
file_rows = 'hybrid,paper'     # the rows on each set of files
real_rows = 'hybrid,paper'     # the rows on the real takes
onset_rows = 'hybrid,hybrid_no_shift,paper'  # the rows on the real takes at random onsets
official_meta = ''             # measure this official MetaGraph (d=64) with fresh weights instead of generator_dir
readout_clips = 4000           # clips the linear readout is fitted on, with official_meta
recipe = Recipe()              # our recipe (recovery/recipe.py), each field a flag; the 'paper' row uses the paper's
results_dir = 'logs/benchmarks'  # where recovery.md, .json, the rows so far and the sets' files go
batch_size = 32                # clips optimised together
seed = 0                       # of the synthesized clips' z and the real clips' choice
# -----------------------------------------------------------------------------

ROW_NAMES = ('random', 'network_unrefined', 'network', 'gradient', 'hybrid', 'hybrid_no_shift', 'hybrid_fast', 'paper')
REAL_SETS = ('real', 'real_onsets')
SUMMARY = ('clips exact', 'latent MSE (median)', 'latent MSE (99th percentile)', 'SNR dB (median)',
           'log-spectral distance (dB)', 'classifier accuracy', 'seconds per clip')


def validate(s):
    from benchmarks.clip_sets import SET_NAMES
    from utils.flags import FlagError
    for flag in ('rows', 'file_rows', 'real_rows', 'onset_rows'):
        unknown = set(s[flag].split(',')) - set(ROW_NAMES)
        if unknown:
            raise FlagError(f'--{flag}: unknown rows {sorted(unknown)}; known: {",".join(ROW_NAMES)}')
    if set(s['sets'].split(',')) - set(SET_NAMES) - set(REAL_SETS):
        raise FlagError(f'--sets={s["sets"]}: expected some of {",".join(SET_NAMES + REAL_SETS)}')


def row_recipes(ours):
    """row -> (method, recipe): our recipe, its variants, and the paper's."""
    from recovery.recipe import PAPER
    return {'random': ('random', ours), 'network_unrefined': ('network', ours.replace(refine_steps=0)),
            'network': ('network', ours), 'gradient': ('gradient', ours), 'hybrid': ('hybrid', ours),
            'hybrid_no_shift': ('hybrid', ours.replace(find_shift=False)),
            'hybrid_fast': ('hybrid', ours.replace(gauss_newton_iterations=2, restarts=0, max_iter=100)),
            'paper': ('hybrid', PAPER)}


def benchmark_models():
    """The Models every row recovers with: the shipped ones, or the official graph with fresh weights."""
    import numpy as np

    from models.resnet import load_classifier, resnet
    from models.tf1_loader import complete_metagraph, load_generator
    from models.training import fit_linear_readout
    from models.wavegan import init_generator_weights
    from recovery.recover import Models, load_models
    if not official_meta:
        return load_models('hybrid', Recipe(), generator_dir=generator_dir, inverse_path=inverse_path,
                           classifier_path=classifier_path)
    folder = os.path.join(results_dir, 'official_d64')
    if not os.path.isfile(os.path.join(folder, 'model.ckpt.index')):
        complete_metagraph(official_meta, folder, init_generator_weights(64, seed))
    generator = load_generator(folder)
    network = resnet(100, widths=(4,), blocks=(1,), linear_readout=True)  # its ResNet head starts at zero
    fit_linear_readout(network, generator, readout_clips, seed=seed)
    assert np.isfinite(network.get_layer('linear_readout').get_weights()[0]).all()
    return Models(generator, network, None, load_classifier(classifier_path))


def clip_sets(models, names):
    """(name, audio, labels, true z or None, noise floors) of each set in `names`, in that order."""
    import numpy as np

    from benchmarks.clip_sets import SET_NAMES, synthesized_set
    from models.resnet import predict
    from models.wavegan import random_z, synthesize
    from utils.data import load_clips, split_files
    from utils.perturb import random_onsets

    rng = np.random.default_rng([seed, 1])  # not the stream gradient-only starts from
    z = random_z(synth_clips, rng)
    made = synthesize(models.generator, z)
    labels = np.argmax(predict(models.classifier, made, 100), axis=-1)  # the digit each clip G made is heard as
    for name in [n for n in names if n in SET_NAMES]:
        audio, floors = synthesized_set(name, made, os.path.join(results_dir, 'files'))
        yield name, audio, labels, z, floors
    if not set(names) & set(REAL_SETS):
        return
    files = split_files(data_dir, split)
    if real_clips:
        files = [files[i] for i in sorted(rng.permutation(len(files))[:real_clips])]
    audio, real_labels, _, failures = load_clips(files, desc='reading real clips')
    for failure in failures:
        print(f'skipped {failure}')
    floors = np.zeros(len(audio))
    if 'real' in names:
        yield 'real', audio, np.array(real_labels), None, floors
    if 'real_onsets' in names:
        yield 'real_onsets', random_onsets(audio, np.random.default_rng([seed, 3]))[0], np.array(real_labels), None, floors


def rows_of(set_name):
    from utils.flags import name_list
    return name_list({'memory': rows, 'real': real_rows, 'real_onsets': onset_rows}.get(set_name, file_rows))


def run_row(models, method, row_recipe, audio, labels, z_true, floors):
    """One row: its per-clip measures' summary, and where its time went (seconds of each stage, generator passes)."""
    import time

    import numpy as np

    from models.resnet import predict
    from models.wavegan import random_z
    from recovery.profile import Profile
    from recovery.recover import Recovered, measure, recover
    from utils.metrics import summarize

    profile = Profile()
    if method == 'random':
        started = time.perf_counter()
        recovered = Recovered(random_z(len(audio), np.random.default_rng([seed, 2])), np.zeros(len(audio), int),
                              np.ones(len(audio)), np.zeros(len(audio)), np.zeros(len(audio), bool))
        profile.total = time.perf_counter() - started
    else:
        recovered = recover(audio, method, models, row_recipe, floors=floors, batch_size=batch_size, seed=seed,
                            profile=profile)
    measures, _ = measure(models.generator, audio, recovered, floors=floors, z_true=z_true,
                          classify=lambda clips: predict(models.classifier, clips, 100), labels=labels)
    clips = len(audio)
    costs = {**{f'{stage} (s/clip)': seconds / clips for stage, seconds in profile.seconds.items()},
             **{f'{kind} passes per clip': count / clips for kind, count in profile.passes.items()}}
    return {**summarize(measures), 'seconds per clip': profile.total / clips}, costs


def markdown(results, columns):
    from utils.audio import markdown_table
    from utils.metrics import format_value
    return markdown_table(['set', 'row', *columns],
                          [[r['set'], r['row'], *(format_value(c, r[c]) for c in columns)] for r in results])


def main():
    import json
    import platform

    from benchmarks.clip_sets import DESCRIPTIONS
    from utils.audio import save_json, save_text
    from utils.flags import declared_settings, name_list
    from utils.metrics import format_value

    config = declared_settings(globals())
    saved_path = os.path.join(results_dir, 'recovery_rows.json')
    key = json.dumps({k: v for k, v in config.items() if k not in ('sets', 'results_dir')}, sort_keys=True, default=str)
    saved = json.load(open(saved_path)) if os.path.isfile(saved_path) else {}
    if saved.get('key') != key:  # other settings: their rows are not this run's
        saved = {'key': key, 'rows': {}}
    models = benchmark_models()
    recipes = row_recipes(recipe)
    results, costs = [], []
    for set_name, audio, labels, z_true, floors in clip_sets(models, name_list(sets)):
        for row in rows_of(set_name):
            done = saved['rows'].get(f'{set_name}/{row}')
            if done is None:
                print(f'{set_name} ({len(audio)} clips), {row}:')
                report, cost = run_row(models, *recipes[row], audio, labels, z_true, floors)
                done = saved['rows'][f'{set_name}/{row}'] = {'report': report, 'costs': cost}
                save_json(saved_path, saved)
            report = {'set': DESCRIPTIONS.get(set_name, set_name), 'row': row, **done['report']}
            results.append(report)
            costs.append({'set': report['set'], 'row': row, 'seconds per clip': report['seconds per clip'],
                          **done['costs']})
            print(f'  {set_name} {row}: ' + ', '.join(f'{k} {format_value(k, report[k])}' for k in SUMMARY))
    summary = markdown(results, SUMMARY)
    everything = markdown(results, [k for k in results[0] if k not in ('set', 'row')])
    cost_table = markdown(costs, [k for k in costs[0] if k not in ('set', 'row')])
    machine = f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores'
    generator_name = f'{official_meta} (d=64, WaveGAN-initialised weights)' if official_meta else generator_dir
    save_text(os.path.join(results_dir, 'recovery.md'), f'Machine: {machine}; generator: {generator_name}\n\n{summary}\n'
              f'Every metric:\n\n{everything}\nWhere the time went:\n\n{cost_table}')
    save_json(os.path.join(results_dir, 'recovery.json'), {'settings': config, 'machine': machine, 'results': results,
                                                           'costs': costs})
    print(summary)
    print(f'written to {results_dir}/recovery.md and .json')


if __name__ == '__main__':
    configure(globals(), validate=validate)
    main()
