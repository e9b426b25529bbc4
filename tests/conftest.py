"""Shared fixtures: a small FSDD subset and tiny models, made once per test session by the scripts."""
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The data the tests carry (tests/data, each folder with its licence): a subset of FSDD and the official
# WaveGAN SC09 MetaGraph.
FSDD = os.path.join(ROOT, 'tests', 'data', 'fsdd')
OFFICIAL = os.path.join(ROOT, 'tests', 'data', 'wavegan_sc09_official')
sys.path.insert(0, ROOT)


# The default recovery loss reads classifier layers a tiny two-stage classifier does not have.
TINY_RECOVERY = ['--perceptual_layers=stem,stage1,stage2,pool']


def run_script(script, *flags, check=True, timeout=600):
    """Run one of the project's scripts in a subprocess; return the CompletedProcess."""
    result = subprocess.run([sys.executable, os.path.join(ROOT, script), *flags], cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f'{script} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}')
    return result


def word(onset=2000, length=4000, rate=16000):
    """A clip [1, 16384] silent but for a 300 Hz tone from `onset` for `length` samples."""
    clip = np.zeros((1, 16384), np.float32)
    clip[0, onset:onset + length] = 0.5 * np.sin(2 * np.pi * 300 * np.arange(length) / rate)
    return clip


def shipped_generator():
    """The shipped d=16 generator (checkpoint/)."""
    from models.tf1_loader import load_generator
    return load_generator(os.path.join(ROOT, 'checkpoint'))


def real_takes(*names):
    """FSDD takes from the subset the tests carry, by file name: clips [N, 16384]."""
    from utils.data import load_clips
    return load_clips([os.path.join(FSDD, name) for name in names])[0]


def tone(seconds=0.5, rate=16000, level=0.5):
    """A 440 Hz sine wave."""
    return (level * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def bad_clip(tmp_path, kind):
    """Write one kind of unusable file; return its path and the words its error must contain."""
    path = tmp_path / f'{kind}.wav'
    if kind == 'empty':
        path.write_bytes(b'')
        return str(path), 'empty (0 bytes)'
    if kind == 'not_audio':
        path.write_text('these are notes, not sound')
        return str(path), 'not readable as audio'
    if kind == 'no_samples':
        sf.write(str(path), np.zeros(0, np.float32), 16000)
        return str(path), 'contains no samples'
    if kind == 'truncated':
        sf.write(str(path), tone(), 16000, subtype='PCM_16')
        path.write_bytes(path.read_bytes()[:4000])
        return str(path), 'truncated'
    if kind in ('nan', 'inf'):
        audio = tone()
        audio[100] = np.nan if kind == 'nan' else np.inf
        sf.write(str(path), audio, 16000, subtype='FLOAT')
        return str(path), 'NaN or infinite'
    if kind == 'silent':
        sf.write(str(path), np.zeros(16000, np.float32), 16000)
        return str(path), 'silent'
    if kind == 'too_short':
        sf.write(str(path), tone(0.05), 16000)
        return str(path), 'under the 0.1 s'
    raise ValueError(kind)


BAD_KINDS = ['empty', 'not_audio', 'no_samples', 'truncated', 'nan', 'inf', 'silent', 'too_short']


@pytest.fixture(scope='session')
def fsdd_small(tmp_path_factory):
    """Takes 0, 5 and 10-11 of two speakers: test, valid and train splits of 20, 20 and 40 clips."""
    folder = tmp_path_factory.mktemp('fsdd')
    for digit in range(10):
        for speaker in ('george', 'jackson'):
            for take in (0, 5, 10, 11):
                name = f'{digit}_{speaker}_{take}.wav'
                os.symlink(os.path.join(FSDD, name), folder / name)
    return str(folder)


@pytest.fixture(scope='session')
def tiny_models(tmp_path_factory, fsdd_small):
    """A tiny generator (d=4, a few steps), classifier and inverse-mapping network, each made by its script."""
    folder = tmp_path_factory.mktemp('models')
    paths = {'generator_dir': str(folder / 'checkpoint'),
             'classifier_path': str(folder / 'classifier' / 'classifier.keras'),
             'inverse_path': str(folder / 'inverse' / 'inverse_mapping.keras'),
             'logs': str(folder / 'logs'), 'waves': str(folder / 'waves'), 'data_dir': fsdd_small}
    run_script('train_wavegan.py', f'--data_dir={fsdd_small}', f'--generator_dir={paths["generator_dir"]}',
               f'--log_dir={paths["logs"]}/wavegan', '--wavegan_dim=4', '--batch_size=4', '--max_steps=3',
               '--critic_steps=1', '--classifier_path=none')
    run_script('train_sc09_classifier.py', f'--data_dir={fsdd_small}', f'--classifier_dir={folder / "classifier"}',
               f'--log_dir={paths["logs"]}/classifier', '--classifier_epochs=2', '--resnet_widths=4,8',
               '--resnet_blocks=1,1', '--batch_size=8')
    run_script('train.py', f'--data_dir={fsdd_small}', f'--generator_dir={paths["generator_dir"]}',
               f'--classifier_path={paths["classifier_path"]}', f'--inverse_dir={folder / "inverse"}',
               f'--log_dir={paths["logs"]}/inverse', f'--waves_dir={paths["waves"]}', '--epochs=2',
               '--steps_per_epoch=2', '--batch_size=4', '--resnet_widths=4,8', '--resnet_blocks=1,1',
               '--perceptual_layers=stem,stage1,stage2', '--linear_readout_clips=64')
    return paths
