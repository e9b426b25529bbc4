"""Command-line overrides for the hyperparameters a script declares at its top (nanoGPT style).

A script lists its settings as plain module-level variables, then calls `configure(globals())`.
Every `--name=value` on the command line replaces the variable of that name (the value is parsed as a
Python literal and must match the default's type); a variable holding a frozen dataclass (a
recovery Recipe, a ResNet's shape) offers each of its fields as a flag. `--config=NAME` first applies
a preset from PRESETS; `--help` prints every setting with its value and the comment beside it, and exits.
"""
import ast
import dataclasses
import difflib
import inspect
import os
import re
import sys

from utils.errors import UserError, report_user_errors

FLAG_TYPES = (bool, int, float, str)

STRATEGIES = ('default', 'mirrored', 'multiworker')  # tf.distribute: one device, local GPUs, TF_CONFIG hosts

# The paper's recovery recipe (README, "Differences from the paper"): its loss, unbounded L-BFGS, 200 iterations, the
# network's z as it is.
PAPER_RECOVERY = dict(
    level=False,
    find_shift=False,
    refine_steps=0,
    gauss_newton_iterations=0,
    restarts=0,
    bounded_z=False,
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
        generator_dir='checkpoint_sc09',
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
        detector='encoder_head',
        generators='checkpoint_sc09',
        inverse_paths='inverse_mapping_checkpoint_paper/inverse_mapping.keras',
        detector_path='detector_checkpoint_paper/encoder_head.npz',
    ),
    # detect_deepfakes.py: which of the two shipped generators made each clip, or neither
    'attribution': dict(
        generators='checkpoint,checkpoint_seed1',
        inverse_paths='inverse_mapping_checkpoint_robust/inverse_mapping.keras,'
                      'inverse_mapping_checkpoint_seed1_robust/inverse_mapping.keras',
    ),
}


# Old names of settings, still accepted: the paper's scripts called the generator's folder checkpoint_dir.
ALIASES = {'checkpoint_dir': 'generator_dir', 'files': 'input_dir'}


class FlagError(UserError):
    """A command-line flag that names no setting, has the wrong type or an impossible value."""


def is_group(value):
    """A frozen dataclass instance, whose fields are flags of their own."""
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def is_setting(name):
    """Settings are public lower-case names; CONSTANTS (PAPER, a preset's recipe) are not."""
    return not name.startswith('_') and not name.isupper()


def declared_settings(namespace):
    """The settings a script declares: its public module-level variables of a flag type, and the fields
    of each one that holds a frozen dataclass."""
    settings = {}
    for k, v in namespace.items():
        if not is_setting(k):
            continue
        if is_group(v):
            settings.update(dataclasses.asdict(v))
        elif type(v) in FLAG_TYPES:
            settings[k] = v
    return settings


SETTING_LINE = re.compile(r'^\s*(\w+)\s*(?::\s*\w+\s*)?=.*?#\s*(.+)$')


def setting_comments(path):
    """{setting: the comment beside it} from a script's or module's source, for --help."""
    try:
        with open(path) as f:
            return {m.group(1): m.group(2).strip() for m in map(SETTING_LINE.match, f) if m}
    except OSError:
        return {}


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


def format_help(settings, script, comments=None):
    """Every setting with the value it would run with and what it does."""
    comments = comments or {}
    lines = [f'usage: python {script} [--config=PRESET] [--name=value ...]', '',
             'settings (edit them at the top of the script, or override them here):']
    width = max(len(k) for k in settings)
    shown = {k: f'{v!r}' for k, v in settings.items()}
    value_width = min(max(len(v) for v in shown.values()), 40)
    lines += [f'  --{k:<{width}} = {shown[k]:<{value_width}}  {comments.get(k, "")}'.rstrip() for k in settings]
    lines += ['', 'presets: ' + ', '.join(f'--config={p}' for p in PRESETS),
              'old names still accepted: ' + ', '.join(f'--{old} (--{new})' for old, new in ALIASES.items())]
    return '\n'.join(lines)


def unknown_setting(name, settings):
    """The FlagError for a flag that names no setting, suggesting the closest one (an old name counts)."""
    known = {**{old: new for old, new in ALIASES.items() if new in settings}, **{k: k for k in settings}}
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f'did you mean --{known[close[0]]}?' if close else 'try --help'
    return FlagError(f'--{name}: no such setting ({hint})')


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
        if name not in settings and ALIASES.get(name) in settings:
            name = ALIASES[name]
        if name not in settings:
            raise unknown_setting(name, settings)
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
    groups = {k: v for k, v in namespace.items() if is_setting(k) and is_group(v)}
    try:
        settings.update(parse_flags([a for a in argv if a not in ('-h', '--help')], settings))
        updated = {k: dataclasses.replace(v, **{f.name: settings[f.name] for f in dataclasses.fields(v)})
                   for k, v in groups.items()} if not wants_help else {}
        if not wants_help:
            for name, allowed in (choices or {}).items():
                if settings[name] not in allowed:
                    raise FlagError(f'--{name}={settings[name]}: expected one of {", ".join(allowed)}')
            if validate is not None:
                validate(settings)
    except FlagError as e:
        sys.exit(f'error: {e}')
    if wants_help:
        script = namespace.get('__file__', 'script.py')
        comments = setting_comments(script)
        for group in groups.values():
            comments.update(setting_comments(inspect.getsourcefile(type(group))))
        print(format_help(settings, os.path.basename(script), comments))
        sys.exit(0)
    namespace.update({k: v for k, v in settings.items() if k in namespace})
    namespace.update(updated)
    return settings


def check_recovery_settings(s):
    """The checks of the recovery scripts' shared settings: method, batch and worker split."""
    if not (s['inverse_mapping'] or s['gradient']):
        raise FlagError('--inverse_mapping and --gradient are both False: nothing would recover z')
    if s['batch_size'] < 1:
        raise FlagError('--batch_size must be at least 1')
    if s['num_workers'] < 0 or not 0 <= s['worker_index'] < max(s['num_workers'], 1):
        raise FlagError('--worker_index must be 0 to --num_workers - 1')


def int_list(text):
    """'64,128,256' -> (64, 128, 256)."""
    return tuple(int(x) for x in text.split(',') if x.strip())


def name_list(text):
    """'input,stage1' -> ('input', 'stage1')."""
    return tuple(x.strip() for x in text.split(',') if x.strip())
