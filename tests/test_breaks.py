"""Every test names the breaks of the code it was seen to catch, and every named break still fits the code.

`python tests/check_breaks.py` makes each break and runs its test (slow: run it when tests or the code they
guard change). That every test names a break is checked in the everyday suite; that each break still fits the
code, in the second tier (an edit that keeps behaviour may change the code a break quotes: it must not fail
the everyday suite).
"""
import ast
import glob
import os

import pytest

from check_breaks import ROOT, listed_breaks


def test_every_test_names_a_break_it_catches():
    """A test without a `Break:` line in its docstring has never been shown able to fail.
    Break: tests/check_breaks.py: `if isinstance(node, ast.FunctionDef) and node.name.startswith('test_'):` -> `if False:`
    """
    named = {(path, name) for path, name, _, _ in listed_breaks()}
    tests = set()
    for path in glob.glob(os.path.join(ROOT, 'tests', 'test_*.py')):
        for node in ast.parse(open(path).read()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith('test_'):
                tests.add((os.path.relpath(path, ROOT), node.name))
    assert len(tests) > 50
    assert sorted(tests - named) == []


@pytest.mark.tier2
def test_every_named_break_fits_the_code_once():
    """Each break's code occurs exactly once in its file (so check_breaks.py breaks what the test names), and
    changes it.
    Break: tests/check_breaks.py: `edits.append((m['path'], m['old'], m['new']))` -> `edits.append((m['path'], m['new'], m['old']))`
    """
    breaks = listed_breaks()
    assert breaks
    for test_file, name, line, edits in breaks:
        for path, old, new in edits:
            assert os.path.isfile(os.path.join(ROOT, path)), f'{name}: {line}'
            assert open(os.path.join(ROOT, path)).read().count(old) == 1, f'{name}: {line}'
            assert old != new, f'{name}: {line}'
