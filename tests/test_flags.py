import re

import pytest
from hypothesis import given, strategies as st

from conftest import run_script
from recovery.recipe import PAPER, Recipe
from utils.flags import FlagError, PRESETS, configure, parse_flags, parse_value

SETTINGS = {'batch_size': 64, 'learning_rate': 1e-3, 'gradient': True, 'files': 'Audio_Examples'}


def test_overrides_take_the_type_of_the_default():
    """Each --name=value is parsed into its default's type; an integer given for a float becomes a float.
    Break: utils/flags.py: `if kind is float and type(value) is int:` -> `if False:`
    """
    got = parse_flags(['--batch_size=8', '--learning_rate=2e-4', '--gradient=False', '--files=x/y'], SETTINGS)
    assert got == {'batch_size': 8, 'learning_rate': 2e-4, 'gradient': False, 'files': 'x/y'}
    assert parse_flags(['--learning_rate=1'], SETTINGS)['learning_rate'] == 1.0


@pytest.mark.parametrize('argv', [['--batch_sise=8'], ['--batch_size=eight'], ['--batch_size=1.5'],
                                  ['--gradient=maybe'], ['batch_size=3'], ['--config=nope']])
def test_bad_flags_are_refused(argv):
    """A misspelt name, a wrong type, a bare word or an unknown preset: FlagError.
    Break: utils/flags.py: `        if name not in settings:` -> `        if False:`
    """
    with pytest.raises(FlagError):
        parse_flags(argv, SETTINGS)


def test_preset_applies_first_and_explicit_flags_win():
    """--config=paper sets the preset's values for the settings a script has; an explicit flag beats it.
    Break: utils/flags.py: `overrides.update({k: v for k, v in PRESETS[text].items() if k in settings})` -> `overrides.update({})`
    """
    got = parse_flags(['--batch_size=16', '--config=paper'], SETTINGS)
    assert got['batch_size'] == 16
    assert parse_flags(['--config=paper'], SETTINGS) == {k: PRESETS['paper'][k] for k in SETTINGS if k in PRESETS['paper']}


def test_configure_updates_the_namespace_and_validates():
    """configure() writes the overrides into the script's globals and stops on an impossible value.
    Break: utils/flags.py: `    namespace.update({k: v for k, v in settings.items() if k in namespace})` -> `    pass`
    """
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
    """Any int, float, bool or text written as a flag reads back as itself.
    Break: utils/flags.py: `    if kind is str:` -> `    if kind is bytes:`
    """
    assert parse_value('n', repr(i), 0) == i
    assert parse_value('n', repr(f), 0.0) == f
    assert parse_value('n', str(b), True) is b
    assert parse_value('n', s, '') == s


@pytest.mark.parametrize('script', ['generate.py', 'train_wavegan.py', 'train_sc09_classifier.py', 'train.py',
                                    'latent_vector_recovery.py', 'calculate_metrics.py',
                                    'benchmarks/recovery.py', 'benchmarks/generator_quality.py'])
def test_every_script_lists_its_settings_with_help(script):
    """--help lists every setting with the value it would run with: after the preset, then the explicit flags.
    Break: utils/flags.py: `        settings.update(parse_flags([a for a in argv if a not in ('-h', '--help')], settings))` -> `        parse_flags([a for a in argv if a not in ('-h', '--help')], settings)`
    Break: utils/flags.py: `    shown = {k: f'{v!r}' for k, v in settings.items()}` -> `    shown = {k: '' for k, v in settings.items()}`
    """
    shown = dict(re.findall(r'^  --(\w+)\s+= (.+?)(?:  .*)?$', run_script(script, '--config=paper', '--seed=7',
                                                                         '--help').stdout, re.M))
    assert shown.pop('seed') == '7'
    from_preset = {k: v for k, v in shown.items() if k in PRESETS['paper']}
    assert from_preset, f'{script} has none of the preset\'s settings'
    assert from_preset == {k: repr(PRESETS['paper'][k]) for k in from_preset}


def test_the_paper_preset_trains_wavegan_as_published():
    """--config=paper trains WaveGAN at the official size and recipe, with no moving average.
    Break: utils/flags.py: `        ema_decay=0.0,` -> `        ema_decay=0.999,`
    """
    out = ' '.join(run_script('train_wavegan.py', '--config=paper', '--help').stdout.split())
    for setting in ('wavegan_dim = 64', 'batch_size = 64', 'ema_decay = 0.0', 'normalize = False'):
        assert f'--{setting}' in out, setting


def test_scripts_refuse_an_unknown_flag_before_work():
    """A misspelt flag stops a script with one line naming it.
    Break: utils/flags.py: `        if name not in settings:` -> `        if False:`
    """
    result = run_script('generate.py', '--num_sample=3', check=False)
    assert result.returncode != 0 and '--num_sample: no such setting' in result.stderr


def test_paper_recovery_preset_switches_the_recipe_and_keeps_our_models():
    """--config=paper_recovery sets the paper's recovery recipe and nothing else.
    Break: utils/flags.py: `    bounded_z=False,` -> `    bounded_z=True,`
    """
    settings = {'gauss_newton_iterations': 10, 'recovery_loss': 'perceptual', 'bounded_z': True,
                'generator_dir': 'checkpoint'}
    overrides = parse_flags(['--config=paper_recovery'], settings)
    assert overrides == {'gauss_newton_iterations': 0, 'recovery_loss': 'paper', 'bounded_z': False}


def test_impossible_recovery_settings_are_refused_before_work():
    """An unknown recovery loss or benchmark row is refused before any model loads.
    Break: recovery/recipe.py: `        if self.recovery_loss not in RECOVERY_LOSSES:` -> `        if False:`
    Break: benchmarks/recovery.py: `    if unknown:` -> `    if False:`
    """
    result = run_script('latent_vector_recovery.py', '--recovery_loss=spectral', check=False)
    assert result.returncode != 0 and 'expected one of perceptual, waveform, paper' in result.stderr
    result = run_script('benchmarks/recovery.py', '--rows=best,hybrid', '--synth_clips=2', '--real_clips=2', check=False)
    assert result.returncode != 0 and "unknown rows ['best']" in result.stderr


def test_a_recipe_among_the_settings_takes_its_fields_from_flags_and_presets():
    """A frozen dataclass among a script's settings (the recovery Recipe) offers each field as a flag: the script
    gets a new Recipe with the preset and the flags applied (its CONSTANTS are left alone), and an impossible value
    stops it in one line.
    Break: utils/flags.py: `    namespace.update(updated)` -> `    pass`
    Break: utils/flags.py: `            settings.update(dataclasses.asdict(v))` -> `            pass`
    Break: utils/flags.py: `    return not name.startswith('_') and not name.isupper()` -> `    return not name.startswith('_')`
    """
    namespace = {'recipe': Recipe(), 'batch_size': 32, 'PAPER': PAPER}
    configure(namespace, ['--max_iter=7', '--config=paper_recovery', '--batch_size=4'])
    assert namespace['recipe'] == PAPER.replace(max_iter=7) and namespace['batch_size'] == 4
    assert 'max_iter' not in namespace and namespace['PAPER'] is PAPER  # a constant is no setting
    with pytest.raises(SystemExit) as stop:
        configure({'recipe': Recipe()}, ['--restarts=-1'])
    assert '--restarts' in str(stop.value)


def test_old_names_still_work_and_a_misspelt_flag_suggests_the_setting_meant():
    """--checkpoint_dir and --files, the paper's names, set generator_dir and input_dir; a misspelling of either
    name suggests the setting.
    Break: utils/flags.py: `        if name not in settings and ALIASES.get(name) in settings:` -> `        if False:`
    Break: utils/flags.py: `    hint = f'did you mean --{known[close[0]]}?' if close else 'try --help'` -> `    hint = 'try --help'`
    """
    settings = {'generator_dir': 'checkpoint', 'input_dir': 'x', 'batch_size': 32}
    assert parse_flags(['--checkpoint_dir=a', '--files=b'], settings) == {'generator_dir': 'a', 'input_dir': 'b'}
    for misspelt in ('--fles=c', '--input_dri=c'):
        with pytest.raises(FlagError, match='did you mean --input_dir'):
            parse_flags([misspelt], settings)


def test_help_says_what_each_setting_does():
    """--help shows the comment beside each setting, the recipe's fields' included.
    Break: utils/flags.py: `            comments.update(setting_comments(inspect.getsourcefile(type(group))))` -> `            pass`
    Break: utils/flags.py: `        comments = setting_comments(script)` -> `        comments = {}`
    """
    out = run_script('latent_vector_recovery.py', '--help').stdout
    assert re.search(r'^  --batch_size\s+= 32\s+clips optimised together$', out, re.M)
    assert re.search(r'^  --max_iter\s+= 200\s+L-BFGS iterations, for clips', out, re.M)
