"""Break the code on purpose and see each test fail: the breaks every test lists in its docstring.

A test names the breaks it was written to catch, one line each, in its docstring:

    Break: recovery/gauss_newton.py: `damping[index] / 10` -> `damping[index] / 3`

(several edits in one break are joined by ` + `). For each break this script replaces the quoted
code (it must occur exactly once in its file), runs that test alone, expects it to fail, and puts
the code back. A break the test survives is reported as MISSED: the test claims what it does not
check. Each test is first run as the code is (it must pass), then once per break, each time in its
own pytest, so a test that needs the tiny models costs a minute or two a break; `-k` picks breaks by
test name or file.

    python tests/check_breaks.py            # every break of every test
    python tests/check_breaks.py -k split   # the breaks of the tests whose name holds "split"
    python tests/check_breaks.py --list
"""
import argparse
import ast
import glob
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BREAK_LINE = re.compile(r'^\s*Break:\s*(.+)$')
EDIT = re.compile(r'(?P<path>[\w./-]+):\s*`(?P<old>[^`]+)`\s*->\s*`(?P<new>[^`]*)`')


def parse_break(text):
    """'path: `old` -> `new` + path: `old` -> `new`' -> [(path, old, new), ...], or ValueError."""
    edits, end = [], 0
    for m in EDIT.finditer(text):
        if text[end:m.start()].strip() not in ('', '+') or (edits and text[end:m.start()].strip() != '+'):
            break
        edits.append((m['path'], m['old'], m['new']))
        end = m.end()
    if not edits or text[end:].strip():
        raise ValueError(f'not "path: `old` -> `new`" (+ more): {text.strip()!r}')
    return edits


def listed_breaks(folder=os.path.join(ROOT, 'tests')):
    """[(test file, test name, line of the docstring, [(path, old, new), ...])] for every Break: line."""
    found = []
    for path in sorted(glob.glob(os.path.join(folder, 'test_*.py'))):
        tree = ast.parse(open(path).read())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith('test_'):
                for line in (ast.get_docstring(node) or '').splitlines():
                    m = BREAK_LINE.match(line)
                    if m:
                        found.append((os.path.relpath(path, ROOT), node.name, line.strip(), parse_break(m[1])))
    return found


def apply(edits):
    """Make the edits; return the original text of every file touched (for restore)."""
    originals = {}
    for path, old, new in edits:
        full = os.path.join(ROOT, path)
        text = originals.get(full) or open(full).read()
        originals.setdefault(full, text)
        current = open(full).read()
        count = current.count(old)
        if count != 1:
            restore(originals)
            raise ValueError(f'{path}: `{old}` occurs {count} times, not once')
        with open(full, 'w') as f:
            f.write(current.replace(old, new))
    return originals


def restore(originals):
    for full, text in originals.items():
        with open(full, 'w') as f:
            f.write(text)


def run_test(test_file, name, timeout):
    """('caught' (the test failed), 'error' (it could not run: a fixture or import broke), 'MISSED' or
    'timeout'; the first line of pytest's explanation, to show that it failed for the right reason)."""
    command = [sys.executable, '-m', 'pytest', '-q', '-x', '-p', 'no:cacheprovider', '-o', 'addopts=',  # either tier
               f'{test_file}::{name}']
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 'timeout', ''
    lines = result.stdout.strip().splitlines() or ['']
    reason = ' '.join([line[1:].strip() for line in lines if line.startswith('E ') and line[1:].strip()][:3])[:240]
    if result.returncode == 0:
        return 'MISSED', ''
    return ('caught' if ' failed' in lines[-1] else 'error'), reason


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that a killed run still puts the code back
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-k', default='', help='only the tests whose file or name holds this')
    parser.add_argument('--list', action='store_true', help='list the breaks and stop')
    parser.add_argument('--timeout', type=int, default=900, help='seconds for one test run')
    args = parser.parse_args()
    breaks = [b for b in listed_breaks() if args.k in b[0] or args.k in b[1]]
    if args.list:
        for test_file, name, line, _ in breaks:
            print(f'{test_file}::{name}\n    {line}')
        return 0
    outcomes, passing = [], {}
    for i, (test_file, name, line, edits) in enumerate(breaks, 1):
        started = time.time()
        if (test_file, name) not in passing:  # a test that fails unbroken proves nothing by failing broken
            passing[test_file, name] = run_test(test_file, name, args.timeout)[0] == 'MISSED'
        if not passing[test_file, name]:
            outcomes.append(('fails unbroken', name, line))
            print(f'[{i}/{len(breaks)}] fails unbroken: {name}', flush=True)
            continue
        try:
            originals = apply(edits)
        except ValueError as e:
            outcomes.append(('stale', name, line))
            print(f'[{i}/{len(breaks)}] stale   {name}: {e}', flush=True)
            continue
        try:
            outcome, reason = run_test(test_file, name, args.timeout)
        finally:
            restore(originals)
        outcomes.append((outcome, name, line))
        print(f'[{i}/{len(breaks)}] {outcome:<7} {name} ({time.time() - started:.0f} s)\n    {line}'
              + (f'\n    -> {reason}' if reason else ''), flush=True)
    bad = [o for o in outcomes if o[0] != 'caught']
    print(f'\n{len(outcomes) - len(bad)} of {len(outcomes)} breaks made their test fail')
    for outcome, name, line in bad:
        print(f'  {outcome}: {name}: {line}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
