"""Command-line overrides for the hyperparameters a script declares at its top (nanoGPT style).

A script lists its settings as plain module-level variables, then calls
`configure(globals())`. Every `--name=value` on the command line replaces the variable of that
name (the value is parsed as a Python literal and must match the default's type);
`--config=NAME` first applies a preset from PRESETS; `--help` prints every setting (with the
other flags applied) and exits.
"""
import ast
import os
import sys

from utils.errors import UserError, report_user_errors

FLAG_TYPES = (bool, int, float, str)

RECOVERY_LOSSES = ('perceptual', 'waveform', 'paper')
STRATEGIES = ('default', 'mirrored', 'multiworker')  # tf.distribute: one device, local GPUs, TF_CONFIG hosts

# The paper's recovery recipe (see ../shared/PAPER_NOTES.md): its loss, unbounded L-BFGS, 200 iterations, the
# network's z as it is.
PAPER_RECOVERY = dict(
    refine_steps=0,
    gauss_newton_iterations=0,
    restarts=0,
    lbfgs_bounded=False,
    max_iter=200,
    recovery_loss='paper',
    perceptual_layers='input,stem,stage1,stage2',
    perceptual_weight=1.0,
)

# The paper's published recipe, for users with the official checkpoint; 'paper_recovery' keeps our
# models and data and recovers z as the paper did. Each script takes the keys it declares.
PRESETS = {
    'paper_recovery': PAPER_RECOVERY,
    'paper': dict(
        **PAPER_RECOVERY,
        checkpoint_dir='checkpoint_sc09',
        data_dir='datasets/sc09',
        train_split='train',
        valid_split='valid',
        test_split='test',
        classifier_dir='classifier_checkpoint_paper',
        classifier_path='classifier_checkpoint_paper/classifier.keras',
        inverse_dir='inverse_mapping_checkpoint_paper',
        inverse_path='inverse_mapping_checkpoint_paper/inverse_mapping.keras',
        wavegan_dim=64,
        batch_size=64,
        ema_decay=0.0,
        features='magnitude',
        feature_channels=3,
        peak_normalize=False,
        normalize=False,
        resnet_widths='64,128,256,512',
        resnet_blocks='2,2,2,2',
        resnet_stem='paper',
        learning_rate=1e-3,
        classifier_epochs=100,
        epochs=250,
        latent_loss_weight=1.0,
        linear_readout=False,
    ),
}


class FlagError(UserError):
    """A command-line flag that names no setting, has the wrong type or an impossible value."""


def declared_settings(namespace):
    """The settings a script declares: its public module-level variables of a flag type."""
    return {k: v for k, v in namespace.items()
            if not k.startswith('_') and type(v) in FLAG_TYPES}


def parse_value(name, text, default):
    """Parse `text` into the type of `default`, or raise FlagError."""
    kind = type(default)
    if kind is str:
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        if kind is bool and text.lower() in ('true', 'false'):
            return text.lower() == 'true'
        raise FlagError(f'--{name}={text}: expected a {kind.__name__}') from None
    if kind is float and type(value) is int:
        value = float(value)
    if type(value) is not kind:
        raise FlagError(f'--{name}={text}: expected a {kind.__name__}, got {type(value).__name__}')
    return value


def format_help(settings, script):
    lines = [f'usage: python {script} [--config=PRESET] [--name=value ...]', '',
             'settings (edit them at the top of the script, or override them here):']
    width = max(len(k) for k in settings)
    lines += [f'  --{k:<{width}} = {v!r}' for k, v in settings.items()]
    lines += ['', 'presets: ' + ', '.join(f'--config={p}' for p in PRESETS)]
    return '\n'.join(lines)


def parse_flags(argv, settings):
    """Return the overrides that `argv` asks of `settings`, a preset first, then each --name=value."""
    overrides = {}
    for arg in argv:
        if not arg.startswith('--') or '=' not in arg:
            raise FlagError(f'{arg}: expected --name=value (try --help)')
        name, text = arg[2:].split('=', 1)
        if name == 'config':
            if text not in PRESETS:
                raise FlagError(f'--config={text}: unknown preset; known: {", ".join(PRESETS)}')
            overrides.update({k: v for k, v in PRESETS[text].items() if k in settings})
    for arg in argv:
        name, text = arg[2:].split('=', 1)
        if name == 'config':
            continue
        if name not in settings:
            raise FlagError(f'--{name}: no such setting (try --help)')
        overrides[name] = parse_value(name, text, settings[name])
    return overrides


def configure(namespace, argv=None, validate=None, choices=None):
    """Apply command-line overrides to a script's settings in place; return them as a dict.

    `choices` maps a setting to the values it may take; `validate(settings)` may raise FlagError
    for other impossible values; any FlagError ends the script with a one-line message before work
    starts.
    """
    report_user_errors()
    argv = sys.argv[1:] if argv is None else argv
    wants_help = any(a in ('-h', '--help') for a in argv)
    settings = declared_settings(namespace)
    try:
        settings.update(parse_flags([a for a in argv if a not in ('-h', '--help')], settings))
        if not wants_help:
            for name, allowed in (choices or {}).items():
                if settings[name] not in allowed:
                    raise FlagError(f'--{name}={settings[name]}: expected one of {", ".join(allowed)}')
            if validate is not None:
                validate(settings)
    except FlagError as e:
        sys.exit(f'error: {e}')
    if wants_help:
        print(format_help(settings, os.path.basename(namespace.get('__file__', 'script.py'))))
        sys.exit(0)
    namespace.update(settings)
    return settings


def check_recovery_settings(s):
    """The checks of the recovery scripts' shared settings: method, recipe and worker split."""
    if not (s['inverse_mapping'] or s['gradient']):
        raise FlagError('--inverse_mapping and --gradient are both False: nothing would recover z')
    if s['max_iter'] < 1 or s['batch_size'] < 1:
        raise FlagError('--max_iter and --batch_size must be at least 1')
    if min(s['gauss_newton_iterations'], s['chord_steps'], s['refine_steps'], s['restarts']) < 0:
        raise FlagError('--gauss_newton_iterations, --chord_steps, --refine_steps and --restarts must be at least 0')
    if s['num_workers'] < 0 or not 0 <= s['worker_index'] < max(s['num_workers'], 1):
        raise FlagError('--worker_index must be 0 to --num_workers - 1')


def int_list(text):
    """'64,128,256' -> (64, 128, 256)."""
    return tuple(int(x) for x in text.split(',') if x.strip())


def name_list(text):
    """'input,stage1' -> ('input', 'stage1')."""
    return tuple(x.strip() for x in text.split(',') if x.strip())
