import pytest
from hypothesis import given, strategies as st

from conftest import run_script
from utils.flags import FlagError, PRESETS, configure, parse_flags, parse_value

SETTINGS = {'batch_size': 64, 'learning_rate': 1e-3, 'gradient': True, 'files': 'Audio_Examples'}


def test_overrides_take_the_type_of_the_default():
    got = parse_flags(['--batch_size=8', '--learning_rate=2e-4', '--gradient=False', '--files=x/y'], SETTINGS)
    assert got == {'batch_size': 8, 'learning_rate': 2e-4, 'gradient': False, 'files': 'x/y'}
    assert parse_flags(['--learning_rate=1'], SETTINGS)['learning_rate'] == 1.0


@pytest.mark.parametrize('argv', [['--batch_sise=8'], ['--batch_size=eight'], ['--batch_size=1.5'],
                                  ['--gradient=maybe'], ['batch_size=3'], ['--config=nope']])
def test_bad_flags_are_refused(argv):
    with pytest.raises(FlagError):
        parse_flags(argv, SETTINGS)


def test_preset_applies_first_and_explicit_flags_win():
    got = parse_flags(['--batch_size=16', '--config=paper'], SETTINGS)
    assert got['batch_size'] == 16
    assert parse_flags(['--config=paper'], SETTINGS) == {k: PRESETS['paper'][k] for k in SETTINGS if k in PRESETS['paper']}


def test_configure_updates_the_namespace_and_validates():
    namespace = dict(SETTINGS)
    configure(namespace, ['--batch_size=2'])
    assert namespace['batch_size'] == 2

    def positive(s):
        if s['batch_size'] < 1:
            raise FlagError('--batch_size must be at least 1')
    with pytest.raises(SystemExit) as stop:
        configure(dict(SETTINGS), ['--batch_size=0'], validate=positive)
    assert 'batch_size' in str(stop.value)


@given(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
       st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=20))
def test_parse_value_round_trips(i, f, b, s):
    assert parse_value('n', repr(i), 0) == i
    assert parse_value('n', repr(f), 0.0) == f
    assert parse_value('n', str(b), True) is b
    assert parse_value('n', s, '') == s


@pytest.mark.parametrize('script', ['generate.py', 'train_wavegan.py', 'train_sc09_classifier.py', 'train.py',
                                    'latent_vector_recovery.py', 'calculate_metrics.py',
                                    'benchmarks/recovery.py', 'benchmarks/generator_quality.py'])
def test_every_script_lists_its_settings_with_help(script):
    out = run_script(script, '--help').stdout
    assert '--seed' in out and '--config=paper' in out


def test_the_paper_preset_trains_wavegan_as_published():
    out = ' '.join(run_script('train_wavegan.py', '--config=paper', '--help').stdout.split())
    for setting in ('wavegan_dim = 64', 'batch_size = 64', 'ema_decay = 0.0', 'normalize = False'):
        assert f'--{setting}' in out, setting


def test_scripts_refuse_an_unknown_flag_before_work():
    result = run_script('generate.py', '--num_sample=3', check=False)
    assert result.returncode != 0 and '--num_sample: no such setting' in result.stderr


def test_paper_recovery_preset_switches_the_recipe_and_keeps_our_models():
    settings = {'gauss_newton_iterations': 10, 'recovery_loss': 'perceptual', 'lbfgs_bounded': True,
                'checkpoint_dir': 'checkpoint'}
    overrides = parse_flags(['--config=paper_recovery'], settings)
    assert overrides == {'gauss_newton_iterations': 0, 'recovery_loss': 'paper', 'lbfgs_bounded': False}


def test_impossible_recovery_settings_are_refused_before_work():
    result = run_script('latent_vector_recovery.py', '--recovery_loss=spectral', check=False)
    assert result.returncode != 0 and 'expected one of perceptual, waveform, paper' in result.stderr
    result = run_script('benchmarks/recovery.py', '--rows=hybrid,best', check=False)
    assert result.returncode != 0 and "unknown rows ['best']" in result.stderr
