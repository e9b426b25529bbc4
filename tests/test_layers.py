"""The code's layers, which a reader sees in the tree: utils/ (audio, features, errors, flags, metrics) at the
bottom, models/ above it, recovery/ above the models, the scripts on top; and scripts a program can import."""
import ast
import glob
import importlib
import os
import sys

import pytest

from conftest import ROOT

LAYERS = ('utils', 'models', 'recovery')  # each may import the ones before it, never one after it
SCRIPTS = ('generate', 'train_wavegan', 'train_sc09_classifier', 'train', 'latent_vector_recovery',
           'calculate_metrics', 'make_audio_examples', 'detect_deepfakes', 'train_detector', 'benchmarks.recovery',
           'benchmarks.detection', 'benchmarks.generator_quality')


def imported_packages(path):
    """The top-level names a Python file imports (absolute imports), wherever in the file."""
    names = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split('.')[0])
    return names


def test_no_layer_imports_a_layer_above_it():
    """No module of utils/ imports models/ or recovery/, and none of models/ imports recovery/ or a script.
    Break: utils/metrics.py: `from utils.audio import markdown_table, save_json, save_npy_dict, save_text` -> `from models.wavegan import LATENT_DIM; from utils.audio import markdown_table, save_json, save_npy_dict, save_text`
    Break: models/training.py: `from models.resnet import resnet` -> `from recovery.profile import Profile; from models.resnet import resnet`
    """
    wrong = []
    for level, layer in enumerate(LAYERS):
        above = set(LAYERS[level + 1:]) | {script.split('.')[0] for script in SCRIPTS}
        for path in glob.glob(os.path.join(ROOT, layer, '*.py')):
            wrong += [f'{os.path.relpath(path, ROOT)} imports {name}' for name in imported_packages(path) & above]
    assert not wrong, wrong


def test_gauss_newton_has_its_own_file_in_the_recovery_package():
    """Where Gauss-Newton lives can be read from the tree: recovery/gauss_newton.py defines it.
    Break: recovery/gauss_newton.py: `def gauss_newton(` -> `def gauss_newton_steps(`
    """
    tree = ast.parse(open(os.path.join(ROOT, 'recovery', 'gauss_newton.py')).read())
    assert 'gauss_newton' in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize('script', SCRIPTS)
def test_a_script_imports_without_running(script, monkeypatch):
    """Importing a script reads no flags and does no work (its work is a function behind a __main__ guard), so
    another script or a notebook can call it.
    Break: generate.py: `if __name__ == '__main__':` -> `if True:`
    Break: latent_vector_recovery.py: `if __name__ == '__main__':` -> `if True:`
    Break: make_audio_examples.py: `def main():` -> `def make_all():`
    """
    monkeypatch.setattr(sys, 'argv', ['python', '--no_such_setting=1'])
    monkeypatch.syspath_prepend(ROOT)
    sys.modules.pop(script, None)
    module = importlib.import_module(script)
    assert callable(getattr(module, 'main', None))
