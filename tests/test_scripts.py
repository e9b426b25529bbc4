"""Each script runs end to end on a few FSDD clips with tiny models and writes what it promises."""
import json
import os
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


def test_train_wavegan_exports_the_official_format_and_resumes(tiny_models, fsdd_small):
    folder = tiny_models['checkpoint_dir']
    assert {'infer.meta', 'model.ckpt.index', 'model.ckpt.data-00000-of-00001'} <= set(os.listdir(folder))
    out = run_script('train_wavegan.py', f'--data_dir={fsdd_small}', f'--checkpoint_dir={folder}',
                     f'--log_dir={tiny_models["logs"]}/wavegan', '--wavegan_dim=4', '--batch_size=4',
                     '--max_steps=4', '--critic_steps=1', '--classifier_path=none').stdout
    assert 'resumed from step 3' in out and 'at step 4' in out
    other_critic = run_script('train_wavegan.py', f'--data_dir={fsdd_small}', f'--checkpoint_dir={folder}',
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
    flags = [f'--data_dir={fsdd_small}', f'--checkpoint_dir={tmp_path}', f'--log_dir={tmp_path}/logs',
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
    assert os.path.isfile(tiny_models['classifier_path'])
    assert os.path.isfile(tiny_models['inverse_path'])
    waves = os.listdir(tiny_models['waves'])
    for epoch in (1, 2):
        for kind in ('real0', 'synth0'):
            assert f'epoch{epoch:03d}_{kind}_original.wav' in waves
            assert f'epoch{epoch:03d}_{kind}_reconstruction.wav' in waves
    assert os.listdir(os.path.join(tiny_models['logs'], 'inverse')), 'TensorBoard logs are written'


def test_generate_writes_16k_wavs_and_their_z(tiny_models, tmp_path):
    run_script('generate.py', f'--checkpoint_dir={tiny_models["checkpoint_dir"]}', f'--out_dir={tmp_path}',
               '--num_samples=3')
    for i in range(3):
        info = sf.info(str(tmp_path / f'{i:04d}.wav'))
        assert info.samplerate == 16000 and info.frames == 16384
        z = np.load(tmp_path / f'{i:04d}_z.npy')
        assert z.shape == (100,) and np.all(np.abs(z) <= 1)
    again = run_script('generate.py', f'--checkpoint_dir={tiny_models["checkpoint_dir"]}', f'--out_dir={tmp_path}',
                       '--num_samples=3', check=False)
    assert again.returncode == 2 and '0000.wav and 2 other clips exist' in again.stderr


@pytest.mark.parametrize('flags, method', [(['--gradient=False'], 'network'),
                                           (['--inverse_mapping=False'], 'gradient'),
                                           ([], 'hybrid'),
                                           (['--config=paper_recovery'], 'hybrid')])
def test_latent_vector_recovery_inverts_a_folder(tiny_models, fsdd_small, tmp_path, flags, method):
    inputs = tmp_path / 'in'
    inputs.mkdir()
    for name in ('3_george_0.wav', '8_jackson_0.wav'):
        os.symlink(os.path.join(fsdd_small, name), inputs / name)
    result = run_script('latent_vector_recovery.py', f'--files={inputs}', f'--out_dir={tmp_path / "out"}',
                        f'--checkpoint_dir={tiny_models["checkpoint_dir"]}',
                        f'--inverse_path={tiny_models["inverse_path"]}',
                        f'--classifier_path={tiny_models["classifier_path"]}', '--max_iter=5', *TINY_RECOVERY, *flags)
    if method != 'network':
        assert f'recovering ({method})' in result.stderr and '2/2 [' in result.stderr  # a progress bar
    assert 'SNR dB (median)' in result.stdout
    assert json.load(open(tmp_path / 'out' / method / 'metrics.json'))['results']['clips'] == 2
    for name in ('3_george_0', '8_jackson_0'):
        assert sf.info(str(tmp_path / 'out' / method / f'{name}_reconstruction.wav')).samplerate == 16000
        assert np.load(tmp_path / 'out' / method / f'{name}_z.npy').shape == (100,)
        assert os.path.getsize(tmp_path / 'out' / method / f'{name}.png') > 1000


def test_recovery_lists_every_refused_clip_carries_on_and_keeps_existing_outputs(tiny_models, fsdd_small, tmp_path):
    inputs = tmp_path / 'in'
    inputs.mkdir()
    os.symlink(os.path.join(fsdd_small, '3_george_0.wav'), inputs / 'good.wav')
    reasons = dict(bad_clip(inputs, kind) for kind in BAD_KINDS)
    flags = [f'--files={inputs}', f'--out_dir={tmp_path / "out"}', f'--checkpoint_dir={tiny_models["checkpoint_dir"]}',
             f'--inverse_path={tiny_models["inverse_path"]}', '--gradient=False']
    result = run_script('latent_vector_recovery.py', *flags, check=False)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert f'{len(BAD_KINDS)} of {len(BAD_KINDS) + 1} clips could not be read' in result.stdout
    listed = [line.strip() for line in result.stdout.splitlines() if line.startswith('  ')]
    for path, reason in reasons.items():
        assert any(line.startswith(path + ':') and reason in line for line in listed), path
    z_file = tmp_path / 'out' / 'network' / 'good_z.npy'
    np.save(z_file, np.full(100, 7.0))
    again = run_script('latent_vector_recovery.py', *flags, check=False)
    assert '1 clips already recovered' in again.stdout and np.all(np.load(z_file) == 7.0)
    run_script('latent_vector_recovery.py', *flags, '--overwrite=True', check=False)
    assert np.all(np.abs(np.load(z_file)) <= 1)


@pytest.mark.parametrize('synth', [True, False])
def test_calculate_metrics_prints_and_writes_the_table(tiny_models, fsdd_small, tmp_path, synth):
    out = run_script('calculate_metrics.py', f'--synth={synth}', f'--data_dir={fsdd_small}',
                     f'--checkpoint_dir={tiny_models["checkpoint_dir"]}', f'--inverse_path={tiny_models["inverse_path"]}',
                     f'--classifier_path={tiny_models["classifier_path"]}', '--num_clips=4', '--max_iter=5',
                     '--gauss_newton_iterations=2', f'--results_dir={tmp_path}', *TINY_RECOVERY).stdout
    for name in ('audio MSE', 'spectrogram SSIM', 'STOI', 'classifier accuracy', 'inception score'):
        assert name in out
    results = json.load(open(tmp_path / f'{"synth" if synth else "real"}_hybrid.json'))['results']
    assert results['clips'] == 4 and 0 <= results['classifier accuracy'] <= 1
    if synth:
        assert 0 <= results['latent MSE (median)'] < 2
    else:
        assert results['latent MSE (median)'] is None


def test_train_and_classifier_resume_from_their_last_epoch(tiny_models, fsdd_small, tmp_path):
    import shutil
    inverse_dir = tmp_path / 'inverse'
    shutil.copytree(os.path.dirname(tiny_models['inverse_path']), inverse_dir)
    out = run_script('train.py', f'--data_dir={fsdd_small}', f'--checkpoint_dir={tiny_models["checkpoint_dir"]}',
                     f'--classifier_path={tiny_models["classifier_path"]}', f'--inverse_dir={inverse_dir}',
                     f'--log_dir={tmp_path}/logs', f'--waves_dir={tmp_path}/waves', '--epochs=3',
                     '--steps_per_epoch=1', '--batch_size=4', '--resnet_widths=4,8', '--resnet_blocks=1,1',
                     '--perceptual_layers=stem,stage1,stage2').stdout
    assert 'after epoch 2' in out and 'epoch 3:' in out and 'epoch 1:' not in out
    assert json.load(open(inverse_dir / 'state.json'))['epoch'] == 3

    other_shape = run_script('train.py', f'--data_dir={fsdd_small}', f'--checkpoint_dir={tiny_models["checkpoint_dir"]}',
                             f'--classifier_path={tiny_models["classifier_path"]}', f'--inverse_dir={inverse_dir}',
                             '--epochs=4', '--resnet_widths=8,8', '--resnet_blocks=1,1',
                             '--perceptual_layers=stem,stage1,stage2', check=False)
    assert other_shape.returncode != 0 and 'holds a model of another shape' in other_shape.stderr


def test_missing_models_and_layers_are_refused_in_one_line(tiny_models, fsdd_small, tmp_path):
    result = run_script('calculate_metrics.py', f'--checkpoint_dir={tmp_path}/nothing', check=False)
    assert result.returncode == 2 and 'no such checkpoint folder' in result.stderr
    assert 'Traceback' not in result.stderr
    result = run_script('train.py', f'--data_dir={fsdd_small}', f'--checkpoint_dir={tiny_models["checkpoint_dir"]}',
                        f'--classifier_path={tiny_models["classifier_path"]}', f'--inverse_dir={tmp_path}/inv',
                        '--perceptual_layers=stage4', check=False)
    assert result.returncode == 2 and "no layers ['stage4']" in result.stderr and 'Traceback' not in result.stderr
    result = run_script('latent_vector_recovery.py', f'--files={fsdd_small}', f'--out_dir={tmp_path}/out',
                        f'--checkpoint_dir={tiny_models["checkpoint_dir"]}',
                        f'--inverse_path={tiny_models["classifier_path"]}', '--gradient=False', check=False)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert '(None, 10), expected (None, 16384) -> (None, 100)' in result.stderr and 'python train.py' in result.stderr


def test_recovery_benchmark_writes_every_row(tiny_models, tmp_path):
    run_script('benchmarks/recovery.py', f'--checkpoint_dir={tiny_models["checkpoint_dir"]}',
               f'--inverse_path={tiny_models["inverse_path"]}', f'--classifier_path={tiny_models["classifier_path"]}',
               f'--data_dir={tiny_models["data_dir"]}', '--synth_clips=3', '--real_clips=3', '--max_iter=3',
               '--gauss_newton_iterations=1', f'--results_dir={tmp_path}', *TINY_RECOVERY)
    results = json.load(open(tmp_path / 'recovery.json'))['results']
    rows = ('random', 'network_unrefined', 'network', 'gradient', 'hybrid', 'hybrid_fast', 'paper')
    assert [(r['set'].split()[0], r['row']) for r in results] == [(s, r) for s in ('synthesized', 'real') for r in rows]
    assert all(r['clips'] == 3 and (r['STOI'] is None or -1 <= r['STOI'] <= 1) for r in results)
    assert all(0 <= a <= 1 for r in results for a in r['accuracy by digit'].values())
    assert '| synthesized | hybrid |' in open(tmp_path / 'recovery.md').read()


def test_a_killed_training_resumes_from_its_last_checkpoint(tiny_models, fsdd_small, tmp_path):
    state = tmp_path / 'inverse' / 'state.json'
    flags = [f'--data_dir={fsdd_small}', f'--checkpoint_dir={tiny_models["checkpoint_dir"]}',
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
