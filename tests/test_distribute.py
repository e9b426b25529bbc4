"""Scaling out: tf.distribute training on two loopback workers, and folder jobs split across workers."""
import json
import os
import re
import socket
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from conftest import ROOT, TINY_RECOVERY, run_script
from models.resnet import load_inverse_mapping
from utils.distribute import partial_files, share_of, worker_split
from utils.errors import UserError


def free_loopback_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(('127.0.0.1', 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports, index):
    return json.dumps({'cluster': {'worker': [f'127.0.0.1:{p}' for p in ports]},
                       'task': {'type': 'worker', 'index': index}})


def run_workers(script, flags, timeout=300):
    """Run `script` as two MultiWorkerMirroredStrategy workers on loopback ports; return their outputs."""
    ports = free_loopback_ports(2)
    processes = [subprocess.Popen([sys.executable, script, *flags, '--strategy=multiworker'], cwd=ROOT,
                                  env={**os.environ, 'TF_CONFIG': tf_config(ports, i)},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            assert process.returncode == 0, f'{script} worker failed:\n{out[-2000:]}\n{err[-3000:]}'
            outputs.append(out)
    finally:
        for process in processes:
            process.kill()
    return outputs


@pytest.mark.tier2
def test_two_workers_train_identically_and_like_one_process(tiny_models, fsdd_small, tmp_path):
    """train.py on two workers: both end with the same weights, and with those of one process to 5e-4 (three
    Adam steps of 1e-3 move them by up to 3e-3).
    Break: utils/distribute.py: `gradients = tape.gradient(loss, model.trainable_variables)` -> `gradients = tape.gradient(loss, model.trainable_variables); model.optimizer._all_reduce_sum_gradients = lambda pairs: list(pairs)`
    Break: utils/distribute.py: `batch[context.replica_id_in_sync_group * size:` -> `batch[0 * size:`
    Break: train.py: `synchronized=distribution.num_replicas_in_sync > 1)` -> `synchronized=False)`
    """
    def flags(folder):
        return [f'--data_dir={fsdd_small}', f'--generator_dir={tiny_models["generator_dir"]}',
                f'--classifier_path={tiny_models["classifier_path"]}', f'--inverse_dir={folder}',
                f'--log_dir={tmp_path}/logs', f'--waves_dir={tmp_path}/waves', '--epochs=1', '--steps_per_epoch=3',
                '--batch_size=4', '--resnet_widths=4,8', '--resnet_blocks=1,1',
                '--perceptual_layers=stem,stage1,stage2', '--linear_readout_clips=64']

    outputs = run_workers('train.py', flags(tmp_path / 'two'))
    digests = [re.search(r'final weights digest (\w+) \(2 replicas\)', out).group(1) for out in outputs]
    assert digests[0] == digests[1], 'the workers ended with different weights'
    assert sorted(os.listdir(tmp_path / 'two')) == ['inverse_mapping.keras', 'last.keras', 'level_free_readout.npz',
                                                     'state.json']

    run_script('train.py', *flags(tmp_path / 'one'))
    two = load_inverse_mapping(str(tmp_path / 'two' / 'last.keras'))
    one = load_inverse_mapping(str(tmp_path / 'one' / 'last.keras'))
    assert len(two.weights) == len(one.weights)
    for a, b in zip(two.weights, one.weights):  # Adam's first steps move weights by about 1e-3 each
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=5e-4, err_msg=a.path)


def generator_first_moments(folder):
    """Adam's first moment (1 - beta1) g of each generator weight, from the training state in `folder`: linear in the
    gradients, where the weights after Adam's steps are not (its first step moves a weight whose gradient is a
    rounding error by the full learning rate, either way)."""
    import tensorflow as tf
    from models.wavegan import generator_shapes
    state = tf.train.load_checkpoint(tf.train.latest_checkpoint(os.path.join(folder, 'train_state', 'generator')))
    return {name: state.get_tensor(f'optimizer/_variables/{2 + 2 * i}/.ATTRIBUTES/VARIABLE_VALUE')
            for i, name in enumerate(generator_shapes(4))}  # [iterations, learning rate, m0, v0, m1, v1, ...]


@pytest.mark.tier2
def test_two_workers_train_the_generator_like_one_process(fsdd_small, tmp_path):
    """One step on two workers takes the generator's gradient of the whole batch, as one process does: Adam's first
    moment of every weight agrees to 1% of its largest value (the critic's first step, taken before, may differ
    by the rounding of near-zero gradients on another CPU; a worker's own gradient alone is far off).
    Break: train_wavegan.py: `g_vars = list(G.values())` -> `g_vars = list(G.values()); g_opt._all_reduce_sum_gradients = lambda pairs: list(pairs)`
    Break: train_wavegan.py: `g_opt.apply_gradients(zip(tape.gradient(loss, g_vars), g_vars))` -> `g_opt.apply_gradients(zip([g * (1.0 - 2.0 * tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, g.dtype)) for g in tape.gradient(loss, g_vars)], g_vars))`
    Break: utils/distribute.py: `batch[context.replica_id_in_sync_group * size:` -> `batch[0 * size:`
    """
    flags = [f'--data_dir={fsdd_small}', '--wavegan_dim=4', '--batch_size=4', '--max_steps=1', '--critic_steps=1',
             '--classifier_path=none', '--ema_decay=0']
    run_workers('train_wavegan.py', [*flags, f'--generator_dir={tmp_path}/two', f'--log_dir={tmp_path}/logs2'])
    run_script('train_wavegan.py', *flags, f'--generator_dir={tmp_path}/one', f'--log_dir={tmp_path}/logs1')
    two, one = (generator_first_moments(tmp_path / folder) for folder in ('two', 'one'))
    for name in one:
        assert np.abs(one[name]).max() > 0, f'{name} had no gradient'
        np.testing.assert_allclose(two[name], one[name], rtol=0, atol=0.01 * np.abs(one[name]).max(), err_msg=name)


@pytest.mark.tier2
def test_split_recovery_plus_merge_equals_one_run(tiny_models, fsdd_small, tmp_path):
    """Two workers, each recovering its whole batches, then a merge: the same z, bit for bit, and the same table as
    one run. (That a batch's result depends on nothing else, whatever the CPU's kernels, is
    test_a_batch_is_recovered_alike_whatever_else_the_run_holds.)
    Break: latent_vector_recovery.py: `share_of(list(range(len(inputs))), workers, worker_index, batch_size)` -> `share_of(list(range(len(inputs))), workers, worker_index, 1)`
    Break: utils/metrics.py: `return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}, seconds` -> `return {k: np.concatenate([part[k] for part in parts[:1]]) for k in parts[0]}, seconds`
    """
    inputs = tmp_path / 'in'
    inputs.mkdir()
    for name in ('1_george_0.wav', '3_george_0.wav', '5_jackson_0.wav', '8_jackson_0.wav', '9_george_0.wav'):
        os.symlink(os.path.join(fsdd_small, name), inputs / name)
    flags = [f'--input_dir={inputs}', f'--generator_dir={tiny_models["generator_dir"]}',
             f'--inverse_path={tiny_models["inverse_path"]}', f'--classifier_path={tiny_models["classifier_path"]}',
             '--max_iter=3', '--gauss_newton_iterations=1', '--batch_size=2', *TINY_RECOVERY]
    run_script('latent_vector_recovery.py', *flags, f'--out_dir={tmp_path}/one')
    for index in range(2):
        run_script('latent_vector_recovery.py', *flags, f'--out_dir={tmp_path}/split', '--num_workers=2',
                   f'--worker_index={index}')
    early = run_script('calculate_metrics.py', '--merge=True', f'--results_dir={tmp_path}/split/in/hybrid', check=False)
    assert early.returncode == 2  # calculate_metrics's partials are not there: refused in one line
    run_script('latent_vector_recovery.py', *flags, f'--out_dir={tmp_path}/split', '--merge=True')
    one_dir, split_dir = tmp_path / 'one' / 'in' / 'hybrid', tmp_path / 'split' / 'in' / 'hybrid'
    one = json.load(open(one_dir / 'metrics.json'))
    merged = json.load(open(split_dir / 'metrics.json'))
    assert merged['workers'] == 2
    one, merged = one['results']['real'], merged['results']['real']
    assert merged.keys() == one.keys() and merged['clips'] == 5
    for key, value in one.items():
        assert merged[key] == (pytest.approx(value, rel=1e-5) if isinstance(value, float) else value), key
    z_files = [name for name in os.listdir(one_dir) if name.endswith('_z.npy')]
    assert len(z_files) == 5
    for name in z_files:
        np.testing.assert_array_equal(np.load(split_dir / name), np.load(one_dir / name), err_msg=name)


@pytest.mark.tier2
def test_calculate_metrics_split_plus_merge_equals_one_run(tiny_models, tmp_path):
    """Three workers' shares of seven synthesized clips, merged: the table of one run.
    Break: calculate_metrics.py: `ids = share_of(list(range(num_clips)), workers, worker_index, batch_size)` -> `ids = share_of(list(range(num_clips)), 1, 0, batch_size)`
    """
    flags = [f'--generator_dir={tiny_models["generator_dir"]}', f'--inverse_path={tiny_models["inverse_path"]}',
             f'--classifier_path={tiny_models["classifier_path"]}', '--gradient=False', '--num_clips=7',
             '--batch_size=2', *TINY_RECOVERY]
    run_script('calculate_metrics.py', *flags, f'--results_dir={tmp_path}/one')
    for index in range(3):
        run_script('calculate_metrics.py', *flags, f'--results_dir={tmp_path}/split', '--num_workers=3',
                   f'--worker_index={index}')
    run_script('calculate_metrics.py', *flags, f'--results_dir={tmp_path}/split', '--merge=True')
    one = json.load(open(tmp_path / 'one' / 'synthesized_network.json'))['results']['synthesized']
    merged = json.load(open(tmp_path / 'split' / 'synthesized_network.json'))['results']['synthesized']
    for key in ('latent MSE (median)', 'latent MSE (mean)', 'SNR dB (median)', 'log-spectral distance (dB)',
                'classifier accuracy', 'inception score', 'clips'):
        assert merged[key] == pytest.approx(one[key], rel=1e-5), key


@given(st.lists(st.integers(), max_size=40), st.integers(1, 5), st.integers(1, 4))
def test_worker_shares_cover_every_item_once_in_whole_blocks(items, workers, block):
    """The shares hold every item once, and worker k's share is blocks k, k + workers, k + 2 workers, ...
    Break: utils/distribute.py: `if (i // block) % num_workers == worker_index]` -> `if i % num_workers == worker_index]`
    """
    shares = [share_of(items, workers, k, block) for k in range(workers)]
    assert sorted(sum(shares, [])) == sorted(items)
    for k, share in enumerate(shares):
        assert share == sum((items[start:start + block] for start in range(k * block, len(items), workers * block)), [])


def test_worker_split_comes_from_flags_or_tf_config(monkeypatch):
    """The split is the flags', or TF_CONFIG's chief then workers; an index outside the split is refused.
    Break: utils/distribute.py: `return len(tasks), tasks.index((task.get('type'), task.get('index')))` -> `return len(tasks), task.get('index')`
    """
    assert worker_split(3, 2) == (3, 2)
    monkeypatch.delenv('TF_CONFIG', raising=False)
    assert worker_split() == (1, 0)
    monkeypatch.setenv('TF_CONFIG', json.dumps({'cluster': {'chief': ['a:1'], 'worker': ['b:1', 'c:1']},
                                                'task': {'type': 'worker', 'index': 1}}))
    assert worker_split() == (3, 2)
    with pytest.raises(UserError):
        worker_split(2, 2)


def test_merge_refuses_missing_or_mixed_partial_results(tmp_path):
    """A merge with a worker's results missing, or with results of two different splits, is refused.
    Break: utils/distribute.py: `    if missing:` -> `    if False:`
    """
    np.savez(tmp_path / 'metrics.worker0of2.npz', snr=np.zeros(1))
    with pytest.raises(UserError, match=r'worker\(s\) \[1\] of 2'):
        partial_files(str(tmp_path), 'metrics')
    np.savez(tmp_path / 'metrics.worker0of3.npz', snr=np.zeros(1))
    with pytest.raises(UserError, match='splits into'):
        partial_files(str(tmp_path), 'metrics')


def test_strategy_flags_are_checked_before_work(fsdd_small, tmp_path):
    """An unknown strategy, and multiworker without TF_CONFIG, stop the script in one line.
    Break: utils/distribute.py: `if not os.environ.get('TF_CONFIG'):` -> `if False:`
    """
    result = run_script('train.py', '--strategy=tpu', check=False)
    assert result.returncode != 0 and '--strategy=tpu: expected one of default, mirrored, multiworker' in result.stderr
    env_free = {k: v for k, v in os.environ.items() if k != 'TF_CONFIG'}
    result = subprocess.run([sys.executable, 'train_sc09_classifier.py', '--strategy=multiworker',
                             f'--data_dir={fsdd_small}', f'--classifier_dir={tmp_path}', '--classifier_epochs=0'],
                            cwd=ROOT, env=env_free, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and 'TF_CONFIG is not set' in result.stderr and 'Traceback' not in result.stderr
