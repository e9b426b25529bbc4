"""The dated scripts behind docs/EXPERIMENTS.md (docs/experiments/) still run against today's code: each imports,
does no work on import, and calls the project's functions with arguments their signatures take."""
import ast
import glob
import importlib.util
import inspect
import os

import pytest

from conftest import ROOT

EXPERIMENTS = sorted(glob.glob(os.path.join(ROOT, 'docs', 'experiments', '*.py')))
PACKAGES = ('benchmarks', 'models', 'recovery', 'utils')


def load(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3].replace('-', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def project_names(tree, module):
    """The names an experiment imported from the project's packages, as its module holds them."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split('.')[0] in PACKAGES:
            names.update({(alias.asname or alias.name): getattr(module, alias.asname or alias.name)
                          for alias in node.names})
    return names


def wrong_calls(path, module):
    """'line: what' for each call of a project function (or a method of a project object) with arguments its
    signature does not take, or of an attribute the object lacks."""
    tree = ast.parse(open(path).read())
    names, wrong = project_names(tree, module), []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, target = node.func, None
        if isinstance(func, ast.Name) and func.id in names:
            target, label = names[func.id], func.id
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in names:
            owner, label = names[func.value.id], f'{func.value.id}.{func.attr}'
            if not hasattr(owner, func.attr):
                wrong.append(f'{node.lineno}: {label} does not exist')
                continue
            target = getattr(owner, func.attr)
        if target is None or not callable(target) or any(isinstance(a, ast.Starred) for a in node.args) \
                or any(k.arg is None for k in node.keywords):
            continue
        try:
            signature = inspect.signature(target)
        except (TypeError, ValueError):
            continue
        try:
            signature.bind(*[None] * len(node.args), **{k.arg: None for k in node.keywords})
        except TypeError as e:
            wrong.append(f'{node.lineno}: {label}: {e}')
    return wrong


@pytest.mark.parametrize('path', EXPERIMENTS, ids=os.path.basename)
def test_an_experiment_imports_and_calls_todays_functions_as_they_are(path, monkeypatch):
    """An experiment imports without running (its work is main(), behind a __main__ guard), the project names it
    imports exist, and each call of a project function passes arguments that function takes.
    Break: recovery/detect.py: `def recovery_scores(clips, generator, network, *, scoring=Scoring(),` -> `def recovery_scores(clips, generator, network, *, settings=Scoring(),`
    Break: benchmarks/clip_sets.py: `def perturbation_rng(name, seed=DETECTION_SEED):` -> `def perturbation_rng(name, seed=DETECTION_SEED, *, stream):`
    Break: recovery/alignment.py: `def typical_peak(words):` -> `def median_peak(words):`
    """
    monkeypatch.syspath_prepend(ROOT)
    monkeypatch.chdir(ROOT)
    module = load(path)
    assert callable(getattr(module, 'main', None)), f'{os.path.basename(path)} has no main()'
    wrong = wrong_calls(path, module)
    assert not wrong, wrong
