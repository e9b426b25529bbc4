"""Each script runs end to end on a few FSDD clips with tiny models and writes what it promises (the second tier:
each is a run of a script or more, half a minute to minutes)."""
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from conftest import BAD_KINDS, ROOT, TINY_RECOVERY, bad_clip, run_script
from models.wavegan import generator_shapes

pytestmark = pytest.mark.tier2


def test_train_wavegan_exports_the_official_format_and_resumes(tiny_models, fsdd_small):
    """The tiny generator's folder holds the official files; run again, training resumes at step 3 and ends at 4; a
    state saved with other settings is refused in one line.
    Break: train_wavegan.py: `if g_last and d_last:` -> `if False:`
    Break: train_wavegan.py: `except ValueError as e:  # a state saved` -> `except KeyError as e:  # a state saved`
    """
    folder = tiny_models['generator_dir']
    assert {'infer.meta', 'model.ckpt.index', 'model.ckpt.data-00000-of-00001'} <= set(os.listdir(folder))
    out = run_script('train_wavegan.py', f'--data_dir={fsdd_small}', f'--generator_dir={folder}',
                     f'--log_dir={tiny_models["logs"]}/wavegan', '--wavegan_dim=4', '--batch_size=4',
                     '--max_steps=4', '--critic_steps=1', '--classifier_path=none').stdout
    assert 'resumed from step 3' in out and 'at step 4' in out
    other_critic = run_script('train_wavegan.py', f'--data_dir={fsdd_small}', f'--generator_dir={folder}',
                              f'--log_dir={tiny_models["logs"]}/wavegan', '--wavegan_dim=4', '--batch_size=4',
                              '--max_steps=5', '--critic_steps=1', '--classifier_path=none', '--minibatch_stddev=True',
                              check=False)
    assert other_critic.returncode == 2 and 'Traceback' not in other_critic.stderr
    assert 'does not fit --wavegan_dim=4 --minibatch_stddev=True' in other_critic.stderr


def saved_generator_weights(folder, d=4):
    """The generator weights in a train_wavegan.py checkpoint folder: raw and averaged (training state), exported."""
    def restore(kind):
        weights = {name: tf.Variable(tf.zeros(shape)) for name, shape in generator_shapes(d).items()}
        tf.train.Checkpoint(weights=weights).restore(
            tf.train.latest_checkpoint(os.path.join(folder, 'train_state', kind))).expect_partial()
        return {name: v.numpy() for name, v in weights.items()}
    reader = tf.train.load_checkpoint(os.path.join(folder, 'model.ckpt'))
    return restore('generator'), restore('ema'), {name: reader.get_tensor(name) for name in generator_shapes(d)}


def test_train_wavegan_exports_the_moving_average_and_resumes_a_state_without_one(fsdd_small, tmp_path):
    """The exported generator is the moving average of the weights, not the weights; a state saved before the
    average existed resumes with the average starting from its weights.
    Break: train_wavegan.py: `G_ema[name].assign(ema_decay * G_ema[name] + (1 - ema_decay) * weight)` -> `G_ema[name].assign(weight)`
    Break: train_wavegan.py: `            G_ema[name].assign(weight)` -> `            G_ema[name].assign(G_ema[name])`
    """
    flags = [f'--data_dir={fsdd_small}', f'--generator_dir={tmp_path}', f'--log_dir={tmp_path}/logs',
             '--wavegan_dim=4', '--batch_size=4', '--critic_steps=1', '--classifier_path=none', '--ema_decay=0.5']
    run_script('train_wavegan.py', *flags, '--max_steps=2')
    raw, ema, exported = saved_generator_weights(tmp_path)
    assert all(np.array_equal(exported[k], ema[k]) for k in raw)
    assert not all(np.allclose(exported[k], raw[k]) for k in raw)
    shutil.rmtree(tmp_path / 'train_state' / 'ema')  # a state saved before the average existed
    out = run_script('train_wavegan.py', *flags, '--max_steps=3').stdout
    assert 'resumed from step 2' in out
    raw_after, _, exported = saved_generator_weights(tmp_path)
    for k in raw:  # the average starts from the resumed weights: 0.5 * step 2 + 0.5 * step 3
        np.testing.assert_allclose(exported[k], 0.5 * raw[k] + 0.5 * raw_after[k], atol=1e-6)


def test_classifier_and_inverse_mapping_checkpoints_and_examples(tiny_models):
    """The best models hold weights only (no optimizer state, which the resume points keep); each epoch's example
    reconstruction is G of the z written beside it; TensorBoard holds the validation losses.
    Break: train.py: `save_wav(f'{stem}_reconstruction.wav', reconstructions[i])` -> `save_wav(f'{stem}_reconstruction.wav', originals[i])`
    Break: train.py: `            tf.summary.scalar(name, value)` -> `            pass`
    Break: models/training.py: `save_inference_model(self.model, self.best_path)` -> `save_model(self.model, self.best_path)`
    """
    import keras
    import models.resnet  # registers the Spectrogram layer that the saved models use
    from models.tf1_loader import load_generator
    from utils.audio import load_audio
    for path in (tiny_models['classifier_path'], tiny_models['inverse_path']):
        assert getattr(keras.models.load_model(path), 'optimizer', None) is None, f'{path} carries an optimizer'
        assert keras.models.load_model(os.path.join(os.path.dirname(path), 'last.keras')).optimizer is not None
    generator = load_generator(tiny_models['generator_dir'])
    for epoch in (1, 2):
        for kind in ('real0', 'synth0'):
            stem = os.path.join(tiny_models['waves'], f'epoch{epoch:03d}_{kind}')
            assert os.path.isfile(f'{stem}_original.wav')
            expected = generator(np.load(f'{stem}_z.npy')[None]).numpy()[0]
            np.testing.assert_allclose(load_audio(f'{stem}_reconstruction.wav'), expected, atol=2 / 32768)
    tags = set()
    for events in glob.glob(os.path.join(tiny_models['logs'], 'inverse', 'events.*')):
        tags |= {v.tag for e in tf.compat.v1.train.summary_iterator(events) for v in e.summary.value}
    assert {'val_loss', 'val_latent_mse', 'real_perceptual'} <= tags


def test_generate_writes_16k_wavs_and_their_z(tiny_models, tmp_path):
    """Each written clip is a 16 kHz float WAV of 16384 samples, G of the z written beside it (to float32's
    rounding); `--subtype=PCM_16` writes 16-bit files; existing clips are kept.
    Break: generate.py: `save_npy(name + '_z.npy', clip_z)` -> `save_npy(name + '_z.npy', z[0])`
    Break: generate.py: `save_wav(name + '.wav', clip, subtype=subtype)` -> `save_wav(name + '.wav', clip)`
    Break: generate.py: `if taken and not overwrite:` -> `if False:`
    """
    from models.tf1_loader import load_generator
    from utils.audio import load_audio
    run_script('generate.py', f'--generator_dir={tiny_models["generator_dir"]}', f'--out_dir={tmp_path}',
               '--num_samples=3')
    generator = load_generator(tiny_models['generator_dir'])
    for i in range(3):
        info = sf.info(str(tmp_path / f'{i:04d}.wav'))
        assert info.samplerate == 16000 and info.frames == 16384 and info.subtype == 'FLOAT'
        z = np.load(tmp_path / f'{i:04d}_z.npy')
        assert z.shape == (100,) and np.all(np.abs(z) <= 1)
        np.testing.assert_allclose(load_audio(str(tmp_path / f'{i:04d}.wav')), generator(z[None]).numpy()[0],
                                   atol=1e-6)
    run_script('generate.py', f'--generator_dir={tiny_models["generator_dir"]}', f'--out_dir={tmp_path}/pcm',
               '--num_samples=1', '--subtype=PCM_16')
    assert sf.info(str(tmp_path / 'pcm' / '0000.wav')).subtype == 'PCM_16'
    again = run_script('generate.py', f'--generator_dir={tiny_models["generator_dir"]}', f'--out_dir={tmp_path}',
                       '--num_samples=3', check=False)
    assert again.returncode == 2 and '0000.wav and 2 other clips exist' in again.stderr


@pytest.mark.parametrize('flags, method', [(['--gradient=False'], 'network'),
                                           (['--inverse_mapping=False'], 'gradient'),
                                           ([], 'hybrid'),
                                           (['--config=paper_recovery'], 'hybrid')])
def test_latent_vector_recovery_inverts_a_folder(tiny_models, fsdd_small, tmp_path, flags, method):
    """Each clip's reconstruction is G of its written z, with the gain, offset and shift clips.csv gives; the table's
    SNR is that of those reconstructions against the clips as read, and the recipe recorded with the table is the
    one asked for; the script says first what it will do, and its bar what it is doing (the Gauss-Newton step, the
    L-BFGS iteration).
    Break: recovery/gauss_newton.py: `        if status:` -> `        if False:`
    Break: recovery/lbfgs.py: `        if status:` -> `        if False:`
    Break: latent_vector_recovery.py: `save_wav(stem + '_reconstruction.wav', reconstruction, subtype='FLOAT')` -> `save_wav(stem + '_reconstruction.wav', original, subtype='FLOAT')`
    Break: latent_vector_recovery.py: `save_npy(stem + '_z.npy', recovered.z[i])` -> `save_npy(stem + '_z.npy', recovered.z[0])`
    Break: latent_vector_recovery.py: `measures, reconstructions = measure(models.generator, audio, recovered,` -> `measures, reconstructions = measure(models.generator, audio[::-1], recovered,`
    Break: latent_vector_recovery.py: `'gain': float(f'{recovered.gain[i]:.6g}')` -> `'gain': 1.0`
    """
    from models.tf1_loader import load_generator
    from utils.audio import load_audio
    from utils.flags import PRESETS
    from utils.metrics import snr_db
    from utils.perturb import shift
    inputs = tmp_path / 'in'
    inputs.mkdir()
    names = ('3_george_0', '8_jackson_0')
    for name in names:
        os.symlink(os.path.join(fsdd_small, name + '.wav'), inputs / (name + '.wav'))
    result = run_script('latent_vector_recovery.py', f'--input_dir={inputs}', f'--out_dir={tmp_path / "out"}',
                        f'--generator_dir={tiny_models["generator_dir"]}',
                        f'--inverse_path={tiny_models["inverse_path"]}',
                        f'--classifier_path={tiny_models["classifier_path"]}', '--max_iter=5', *TINY_RECOVERY, *flags)
    assert f'recovering 2 clips of {inputs} by {method}' in result.stdout
    if method != 'network':
        assert f'recovering ({method})' in result.stderr and '2/2 [' in result.stderr  # a progress bar
        step = 'L-BFGS iteration 1 of 5' if '--config=paper_recovery' in flags else 'Gauss-Newton step 1 of 48'
        assert step in result.stderr
    assert 'SNR dB (median)' in result.stdout
    run_dir = tmp_path / 'out' / 'in' / method  # each input folder's runs in their own folder
    table = json.load(open(run_dir / 'metrics.json'))
    assert list(table['results']) == ['real'] and table['results']['real']['clips'] == 2
    generator = load_generator(tiny_models['generator_dir'])
    originals = np.stack([load_audio(str(inputs / (name + '.wav'))) for name in names])
    z = np.stack([np.load(run_dir / f'{name}_z.npy') for name in names])
    rows = list(csv.DictReader(open(run_dir / 'clips.csv')))
    assert [row['file'] for row in rows] == [name + '.wav' for name in names]
    gain, offset = (np.array([float(row[key]) for row in rows])[:, None] for key in ('gain', 'offset'))
    reconstructions = gain * shift(generator(z).numpy(), [int(row['shift']) for row in rows]) + offset  # over the clip
    for name, reconstruction in zip(names, reconstructions):
        np.testing.assert_allclose(load_audio(str(run_dir / f'{name}_reconstruction.wav')), reconstruction, atol=1e-5)
        assert os.path.getsize(run_dir / f'{name}.png') > 1000
    assert table['results']['real']['SNR dB (median)'] == pytest.approx(float(np.median(snr_db(originals, reconstructions))),
                                                                 abs=1e-3)
    if '--config=paper_recovery' in flags:
        assert all(table['settings'][k] == v for k, v in PRESETS['paper_recovery'].items()
                   if k not in ('perceptual_layers', 'max_iter'))  # the flags given explicitly beat the preset
    else:
        assert table['settings']['recovery_loss'] == 'perceptual' and table['settings']['gauss_newton_iterations'] == 48


def test_profile_says_where_the_time_went(tiny_models, fsdd_small, tmp_path):
    """--profile=True prints each stage's seconds per clip, which add up to the wall clock within 5%, and the
    generator passes per clip: a Jacobian pushes 100 tangents a clip, L-BFGS one backward pass per forward.
    Break: recovery/recover.py: `        with profile.stage('L-BFGS'):` -> `        if True:`
    Break: recovery/gauss_newton.py: `            profile.count('tangent', LATENT_DIM * len(active))` -> `            profile.count('tangent', len(active))`
    """
    inputs = tmp_path / 'in'
    inputs.mkdir()
    for name in ('3_george_0.wav', '8_jackson_0.wav'):
        os.symlink(os.path.join(fsdd_small, name), inputs / name)
    out = run_script('latent_vector_recovery.py', f'--input_dir={inputs}', f'--out_dir={tmp_path / "out"}',
                     f'--generator_dir={tiny_models["generator_dir"]}', f'--inverse_path={tiny_models["inverse_path"]}',
                     f'--classifier_path={tiny_models["classifier_path"]}', '--max_iter=20', '--gauss_newton_iterations=1',
                     '--profile=True', *TINY_RECOVERY).stdout
    share = {name: float(value) for name, value in re.findall(r'^\| ([\w ()-]+) \| [\d.e-]+ \| ([\d.]+)% \|$', out, re.M)}
    assert set(share) >= {'network', 'Jacobians', 'L-BFGS', 'all stages'} and 95 <= share['all stages'] <= 105
    passes = dict(re.findall(r'(forward|tangent|backward) ([\d.]+)', out.split('generator passes per clip:')[1]))
    assert float(passes['tangent']) == 100 and float(passes['backward']) > 0  # one Jacobian a clip, then L-BFGS


def test_recovery_lists_every_refused_clip_carries_on_and_keeps_existing_outputs(tiny_models, fsdd_small, tmp_path):
    """Eight kinds of bad file beside a good one: each listed with its reason, the good one recovered, exit status
    1; a second run keeps the existing output unless --overwrite=True.
    Break: latent_vector_recovery.py: `    sys.exit(1)` -> `    sys.exit(0)`
    Break: latent_vector_recovery.py: `todo = [i for i in ids if overwrite or not os.path.isfile(` -> `todo = [i for i in ids if True or not os.path.isfile(`
    """
    inputs = tmp_path / 'in'
    inputs.mkdir()
    os.symlink(os.path.join(fsdd_small, '3_george_0.wav'), inputs / 'good.wav')
    reasons = dict(bad_clip(inputs, kind) for kind in BAD_KINDS)
    flags = [f'--input_dir={inputs}', f'--out_dir={tmp_path / "out"}', f'--generator_dir={tiny_models["generator_dir"]}',
             f'--inverse_path={tiny_models["inverse_path"]}', '--gradient=False']
    result = run_script('latent_vector_recovery.py', *flags, check=False)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert f'{len(BAD_KINDS)} clips could not be read' in result.stdout
    listed = [line.strip() for line in result.stdout.splitlines() if line.startswith('  ')]
    for path, reason in reasons.items():
        assert any(line.startswith(path + ':') and reason in line for line in listed), path
    z_file = tmp_path / 'out' / 'in' / 'network' / 'good_z.npy'
    np.save(z_file, np.full(100, 7.0))
    again = run_script('latent_vector_recovery.py', *flags, check=False)
    assert '1 clips already recovered' in again.stdout and np.all(np.load(z_file) == 7.0)
    run_script('latent_vector_recovery.py', *flags, '--overwrite=True', check=False)
    assert np.all(np.abs(np.load(z_file)) <= 1)


@pytest.mark.parametrize('synth', [True, False])
def test_calculate_metrics_prints_and_writes_the_table(tiny_models, fsdd_small, tmp_path, synth):
    """The table equals what the same recovery, run here on the same clips (synthesized from the script's seeded
    z, or the real test clips it picks), measures: latent MSE against the true z, SNR, log-spectral distance,
    accuracy against the original's digit or the label.
    Break: calculate_metrics.py: `labels = np.argmax(classify(originals), axis=-1)` -> `labels = np.zeros(len(originals), int)`
    Break: calculate_metrics.py: `measures, _ = measure(generator, originals, recovered, floors=floors, z_true=z_true,` -> `measures, _ = measure(generator, originals, recovered._replace(z=recovered.z[::-1]), floors=floors, z_true=z_true,`
    Break: utils/metrics.py: `'log-spectral distance (dB)': float(np.mean(measures['lsd'])),` -> `'log-spectral distance (dB)': float(np.mean(measures['ssim'])),`
    """
    from models.resnet import predict
    from utils import metrics
    from utils.audio import noise_floor
    from utils.data import load_clips, split_files
    from models.wavegan import random_z, synthesize
    from recovery.recipe import Recipe
    from recovery.recover import load_models, recover
    from utils.perturb import shift
    out = run_script('calculate_metrics.py', f'--synth={synth}', f'--data_dir={fsdd_small}',
                     f'--generator_dir={tiny_models["generator_dir"]}', f'--inverse_path={tiny_models["inverse_path"]}',
                     f'--classifier_path={tiny_models["classifier_path"]}', '--num_clips=4', '--max_iter=5',
                     '--gauss_newton_iterations=2', f'--results_dir={tmp_path}', *TINY_RECOVERY).stdout
    for name in ('audio MSE', 'spectrogram SSIM', 'STOI', 'classifier accuracy', 'inception score'):
        assert name in out
    name = 'synthesized' if synth else f'real-{os.path.basename(fsdd_small)}-test'
    results = json.load(open(tmp_path / f'{name}_hybrid.json'))['results']['synthesized' if synth else 'real']

    recipe = Recipe(perceptual_layers='stem,stage1,stage2,pool', max_iter=5, gauss_newton_iterations=2)
    models = load_models('hybrid', recipe, generator_dir=tiny_models['generator_dir'],
                         inverse_path=tiny_models['inverse_path'], classifier_path=tiny_models['classifier_path'])
    generator, classifier = models.generator, models.classifier
    rng = np.random.default_rng([0, 1])
    if synth:
        z_true = random_z(4, rng)
        originals, floors = synthesize(generator, z_true), None
        labels = np.argmax(predict(classifier, originals), axis=-1)
    else:
        files = split_files(fsdd_small, 'test')
        chosen = [files[i] for i in sorted(rng.permutation(len(files))[:4])]
        (originals, labels, _, _), floors = load_clips(chosen), np.array([noise_floor(path) for path in chosen])
    recovered = recover(originals, 'hybrid', models, recipe, floors=floors)
    z, reconstructions = recovered.z, recovered.rebuild(generator)
    assert results['clips'] == 4
    assert results['SNR dB (median)'] == pytest.approx(float(np.median(metrics.snr_db(originals, reconstructions))),
                                                       rel=1e-4)
    assert results['log-spectral distance (dB)'] == pytest.approx(
        float(np.mean(metrics.log_spectral_distance(originals, reconstructions))), rel=1e-4)
    heard = shift(synthesize(generator, z), recovered.shift)  # G(z) placed: the classifier hears no DC offset
    assert results['classifier accuracy'] == metrics.accuracy(predict(classifier, heard), labels)
    if synth:
        assert results['latent MSE (median)'] == pytest.approx(float(np.median(metrics.latent_mse(z_true, z))),
                                                               rel=1e-4)
    else:
        assert results['latent MSE (median)'] is None
        assert results['accuracy on originals'] == metrics.accuracy(predict(classifier, originals), labels)


def resumed_weights_stay_close(folder, run):
    """Run `run` (which resumes the model in `folder` for one more epoch of one step); True if every kernel moved
    by less than 5e-3 from the saved resume point (one Adam step of 1e-3; a fresh start is 0.1 or more away)."""
    import keras
    import models.resnet  # registers the Spectrogram layer that the saved models use
    before = {w.path: w.numpy() for w in keras.models.load_model(os.path.join(folder, 'last.keras')).weights}
    output = run()
    after = {w.path: w.numpy() for w in keras.models.load_model(os.path.join(folder, 'last.keras')).weights}
    kernels = [k for k in before if k.endswith('kernel') and 'linear_readout' not in k]
    return output, max(np.abs(after[k] - before[k]).max() for k in kernels) < 5e-3


def test_train_and_classifier_resume_from_their_last_epoch(tiny_models, fsdd_small, tmp_path):
    """train.py and train_sc09_classifier.py each pick up after epoch 2 of the tiny models' runs, from the saved
    weights (one step away after one more epoch), and refuse a folder holding a model of another shape.
    Break: train.py: `network, first_epoch = checkpoint.resume(network)` -> `first_epoch = 0`
    Break: train_sc09_classifier.py: `model, first_epoch = checkpoint.resume(model)` -> `first_epoch = 0`
    Break: models/training.py: `last = keras.models.load_model(self.last_path)` -> `last = model`
    """
    inverse_dir, classifier_dir = tmp_path / 'inverse', tmp_path / 'classifier'
    shutil.copytree(os.path.dirname(tiny_models['inverse_path']), inverse_dir)
    shutil.copytree(os.path.dirname(tiny_models['classifier_path']), classifier_dir)
    out, close = resumed_weights_stay_close(inverse_dir, lambda: run_script(
        'train.py', f'--data_dir={fsdd_small}', f'--generator_dir={tiny_models["generator_dir"]}',
        f'--classifier_path={tiny_models["classifier_path"]}', f'--inverse_dir={inverse_dir}',
        f'--log_dir={tmp_path}/logs', f'--waves_dir={tmp_path}/waves', '--epochs=3', '--steps_per_epoch=1',
        '--batch_size=4', '--resnet_widths=4,8', '--resnet_blocks=1,1', '--perceptual_layers=stem,stage1,stage2').stdout)
    assert 'after epoch 2' in out and 'epoch 3:' in out and 'epoch 1:' not in out and close
    assert json.load(open(inverse_dir / 'state.json'))['epoch'] == 3

    out, close = resumed_weights_stay_close(classifier_dir, lambda: run_script(
        'train_sc09_classifier.py', f'--data_dir={fsdd_small}', f'--classifier_dir={classifier_dir}',
        f'--log_dir={tmp_path}/logs_classifier', '--classifier_epochs=3', '--resnet_widths=4,8',
        '--resnet_blocks=1,1', '--batch_size=32').stdout)
    assert 'after epoch 2' in out and 'epoch 3:' in out and 'epoch 1:' not in out and close
    assert json.load(open(classifier_dir / 'state.json'))['epoch'] == 3

    other_shape = run_script('train.py', f'--data_dir={fsdd_small}', f'--generator_dir={tiny_models["generator_dir"]}',
                             f'--classifier_path={tiny_models["classifier_path"]}', f'--inverse_dir={inverse_dir}',
                             '--epochs=4', '--resnet_widths=8,8', '--resnet_blocks=1,1',
                             '--perceptual_layers=stem,stage1,stage2', check=False)
    assert other_shape.returncode != 0 and 'holds a model of another shape' in other_shape.stderr


def test_the_classifier_trains_on_augmented_clips_and_reports_words_at_random_onsets(fsdd_small, tmp_path):
    """With augment on, the classifier's training batches are changed clips (its weights after one epoch differ from
    a run on the clips as they are, the same seed otherwise), and the script reports test accuracy with the words
    at random onsets.
    Break: train_sc09_classifier.py: `audio = augmented(x_train[batch], rng, speed=speed_change) if augment else x_train[batch]` -> `audio = x_train[batch]`
    Break: train_sc09_classifier.py: `    print(f'test accuracy ({test_split}, words at random onsets): {accuracy_of(best, at_random_onsets(x_test), y_test):.4f}')` -> `    pass`
    """
    import keras
    import models.resnet  # noqa: F401  (registers the layers the saved models hold)
    weights = {}
    for augment in (True, False):
        folder = tmp_path / f'classifier_{augment}'
        out = run_script('train_sc09_classifier.py', f'--data_dir={fsdd_small}', f'--classifier_dir={folder}',
                         f'--log_dir={tmp_path}/logs_{augment}', '--classifier_epochs=1', '--resnet_widths=4,8',
                         '--resnet_blocks=1,1', '--batch_size=8', f'--augment={augment}').stdout
        assert 'test accuracy (test, words at random onsets): ' in out
        weights[augment] = [w.numpy() for w in keras.models.load_model(folder / 'last.keras').weights]
    assert any(np.abs(a - b).max() > 1e-4 for a, b in zip(weights[True], weights[False]))


def test_the_inverse_mapping_network_hears_degraded_clips_when_asked(tiny_models, fsdd_small, tmp_path):
    """With degrade_share=1 the network learns z from degraded G(z): its weights after one step differ from a run
    on G(z) as it is, the same seed otherwise (training on CPU is deterministic: with either break the two agree).
    No linear readout here: a readout fitted on degraded clips differs anyway (see test_losses_and_recovery).
    Break: train.py: `heard = degrade(audio, rng, share=degrade_share)` -> `heard = audio`
    Break: train.py: `        z_pred = network(heard, training=True)` -> `        z_pred = network(audio, training=True)`
    """
    import keras
    import models.resnet  # noqa: F401  (registers the layers the saved models hold)
    weights = []
    for run, share in enumerate((1.0, 0.0)):
        folder = tmp_path / f'inverse_{run}'
        run_script('train.py', f'--data_dir={fsdd_small}', f'--generator_dir={tiny_models["generator_dir"]}',
                   f'--classifier_path={tiny_models["classifier_path"]}', f'--inverse_dir={folder}',
                   f'--log_dir={tmp_path}/logs_{run}', f'--waves_dir={tmp_path}/waves_{run}', '--epochs=1',
                   '--steps_per_epoch=1', '--batch_size=4', '--resnet_widths=4,8', '--resnet_blocks=1,1',
                   '--perceptual_layers=stem,stage1,stage2', '--linear_readout=False', f'--degrade_share={share}')
        weights.append([w.numpy() for w in keras.models.load_model(folder / 'last.keras').weights])
    assert any(np.abs(a - b).max() > 1e-6 for a, b in zip(weights[0], weights[1]))


def test_missing_models_and_layers_are_refused_in_one_line(tiny_models, fsdd_small, tmp_path):
    """A missing checkpoint folder, a perceptual layer the classifier lacks, and a classifier given as the inverse
    mapping: each stops the script with one line, no traceback.
    Break: models/tf1_loader.py: `if not os.path.isdir(checkpoint_dir):` -> `if False:`
    Break: models/resnet.py: `    if missing:` -> `    if False:`
    Break: models/resnet.py: `if found != expected:` -> `if False:`
    """
    result = run_script('calculate_metrics.py', f'--generator_dir={tmp_path}/nothing', check=False)
    assert result.returncode == 2 and 'no such checkpoint folder' in result.stderr
    assert 'Traceback' not in result.stderr
    result = run_script('train.py', f'--data_dir={fsdd_small}', f'--generator_dir={tiny_models["generator_dir"]}',
                        f'--classifier_path={tiny_models["classifier_path"]}', f'--inverse_dir={tmp_path}/inv',
                        '--perceptual_layers=stage4', check=False)
    assert result.returncode == 2 and "no layers ['stage4']" in result.stderr and 'Traceback' not in result.stderr
    result = run_script('latent_vector_recovery.py', f'--input_dir={fsdd_small}', f'--out_dir={tmp_path}/out',
                        f'--generator_dir={tiny_models["generator_dir"]}',
                        f'--inverse_path={tiny_models["classifier_path"]}', '--gradient=False', check=False)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert '(None, 10), expected (None, 16384) -> (None, 100)' in result.stderr and 'python train.py' in result.stderr


def test_recovery_benchmark_writes_every_row(tiny_models, tmp_path):
    """Every row of the sets asked for, in memory, from 16-bit files and real (the onset set's rows its own), each
    with its own recipe: random z scores a latent MSE near 2/3 (two independent uniform vectors), the network beats
    it, the best row comes ten times closer to the true z, and the paper's and the fast rows differ from hybrid; the
    share exact agrees with the percentiles, and each row's cost counts its generator passes (none of a
    Jacobian's for the network, one backward per forward for L-BFGS). Run again, it measures no row twice.
    Break: benchmarks/recovery.py: `'paper': ('hybrid', PAPER)` -> `'paper': ('hybrid', ours)`
    Break: benchmarks/recovery.py: `('hybrid', ours.replace(gauss_newton_iterations=2, restarts=0, max_iter=100))` -> `('hybrid', ours)`
    Break: benchmarks/recovery.py: `yield name, audio, labels, z, floors` -> `yield name, audio, labels, z[::-1], floors`
    Break: benchmarks/recovery.py: `done = saved['rows'].get(f'{set_name}/{row}')` -> `done = None`
    Break: recovery/lbfgs.py: `profile.count('forward', shape[0]), profile.count('backward', shape[0])` -> `profile.count('forward', shape[0])`
    """
    rows = ('random', 'network_unrefined', 'network', 'gradient', 'hybrid', 'hybrid_fast', 'paper')
    flags = [f'--generator_dir={tiny_models["generator_dir"]}', f'--inverse_path={tiny_models["inverse_path"]}',
             f'--classifier_path={tiny_models["classifier_path"]}', f'--data_dir={tiny_models["data_dir"]}',
             '--synth_clips=3', '--real_clips=3', '--max_iter=3', '--gauss_newton_iterations=1',
             '--sets=memory,pcm16,real,real_onsets', f'--rows={",".join(rows)}', '--file_rows=hybrid',
             '--real_rows=hybrid,paper', f'--results_dir={tmp_path}', *TINY_RECOVERY]
    run_script('benchmarks/recovery.py', *flags)
    results = json.load(open(tmp_path / 'recovery.json'))['results']
    assert [(r['set'], r['row']) for r in results] == (
        [('G(z) in memory', r) for r in rows] + [('16-bit WAV', 'hybrid')] + [('real', r) for r in ('hybrid', 'paper')]
        + [('real_onsets', r) for r in ('hybrid', 'hybrid_no_shift', 'paper')])
    assert all(r['clips'] == 3 and (r['STOI'] is None or -1 <= r['STOI'] <= 1) for r in results)
    synthesized = {r['row']: r for r in results if r['set'] == 'G(z) in memory'}
    assert 0.5 < synthesized['random']['latent MSE (mean)'] < 0.85
    assert synthesized['network']['latent MSE (mean)'] < synthesized['random']['latent MSE (mean)']
    best = min(r['latent MSE (median)'] for r in synthesized.values())  # the paper's row: 200 L-BFGS iterations
    assert best < 0.1 * synthesized['random']['latent MSE (median)']
    for row in ('paper', 'hybrid_fast'):
        assert synthesized[row]['audio MSE'] != synthesized['hybrid']['audio MSE'], row
    for row in synthesized.values():  # the share exact is the share of clips at latent MSE 1e-6 or less
        assert row['clips exact'] in (0, 1 / 3, 2 / 3, 1)
        assert (row['clips exact'] >= 2 / 3) == (row['latent MSE (median)'] <= 1e-6)
        assert row['latent MSE (median)'] <= row['latent MSE (90th percentile)'] <= row['latent MSE (99th percentile)']
    rounded = json.load(open(tmp_path / 'recovery_rows.json'))['rows']['pcm16/hybrid']['report']
    assert rounded['latent MSE (median)'] > 0 and rounded['SNR dB (median)'] < 100  # read from 16-bit files
    costs = {r['row']: r for r in json.load(open(tmp_path / 'recovery.json'))['costs'] if r['set'] == 'G(z) in memory'}
    assert costs['network']['tangent passes per clip'] == 0 and costs['network']['forward passes per clip'] > 0
    assert costs['hybrid']['tangent passes per clip'] >= 100  # a Jacobian a clip at least
    paper = costs['paper']  # L-BFGS only: a backward pass a forward one, bar the start's few forward passes
    assert paper['tangent passes per clip'] == 0 and 0 < paper['backward passes per clip'] <= paper['forward passes per clip']
    assert '| G(z) in memory | hybrid |' in open(tmp_path / 'recovery.md').read()
    again = run_script('benchmarks/recovery.py', *flags).stdout
    assert 'clips), ' not in again and 'G(z) in memory | hybrid' in again  # every row kept from the first run


def test_a_killed_training_resumes_from_its_last_checkpoint(tiny_models, fsdd_small, tmp_path):
    """train.py killed once it has saved epoch 2 resumes, run again, after its last saved epoch.
    Break: train.py: `network, first_epoch = checkpoint.resume(network)` -> `first_epoch = 0`
    """
    state = tmp_path / 'inverse' / 'state.json'
    flags = [f'--data_dir={fsdd_small}', f'--generator_dir={tiny_models["generator_dir"]}',
             f'--classifier_path={tiny_models["classifier_path"]}', f'--inverse_dir={tmp_path / "inverse"}',
             f'--log_dir={tmp_path}/logs', f'--waves_dir={tmp_path}/waves', '--steps_per_epoch=1',
             '--batch_size=4', '--resnet_widths=4,8', '--resnet_blocks=1,1', '--perceptual_layers=stem,stage1,stage2',
             '--linear_readout_clips=64']
    process = subprocess.Popen([sys.executable, 'train.py', *flags, '--epochs=1000'], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while not (state.is_file() and json.load(open(state))['epoch'] >= 2):
            assert process.poll() is None and time.time() < deadline, 'training ended or stalled before epoch 2'
            time.sleep(0.2)
    finally:
        process.kill()
        process.wait()
    stopped = json.load(open(state))['epoch']
    out = run_script('train.py', *flags, f'--epochs={stopped + 1}').stdout
    assert f'resuming from {tmp_path / "inverse" / "last.keras"} after epoch {stopped}' in out
    assert f'epoch {stopped + 1}:' in out and json.load(open(state))['epoch'] == stopped + 1
