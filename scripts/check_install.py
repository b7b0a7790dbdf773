"""Installing mmyoloms into an environment that already has the OpenMMLab
stack must not replace torch, mmcv or anything else there.

Run with the Python of such an environment (``make test-compat`` runs it in
each compat venv)::

    .venv-oldest/bin/python scripts/check_install.py

It removes mmyoloms and the packages that only mmyoloms brings
(``--fresh``, default: albumentations and its albucore), so the
environment looks like a user's with torch, mmcv, mmengine, mmdet and
mmyolo, then

1. asks pip what a plain ``pip install -e .`` would do (``--dry-run
   --report``): it must not install or upgrade torch, mmcv, mmengine, mmdet
   or mmyolo; whatever else it would install is printed;
2. runs the documented one-line install (docs/install.md)::

       pip install -e . -c <(pip list --format=freeze)

   and checks that every package installed before has the same version
   after.

Exit status 0 when both hold, 1 otherwise.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import tempfile
from importlib import metadata
from typing import Dict, List

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: Never installed or upgraded by installing mmyoloms.
STACK = ('torch', 'mmcv', 'mmengine', 'mmdet', 'mmyolo')


def _canon(name: str) -> str:
    return name.lower().replace('_', '-')


def installed() -> Dict[str, str]:
    """``{name: version}`` of the packages in this environment."""
    out = subprocess.run(
        [sys.executable, '-m', 'pip', 'list', '--format=json'],
        check=True, capture_output=True, text=True).stdout
    return {_canon(p['name']): p['version'] for p in json.loads(out)}


def pip(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, '-m', 'pip', *args]
    print('$', ' '.join(cmd), flush=True)
    return subprocess.run(cmd, capture_output=True, text=True)


def dry_run_installs() -> List[str]:
    """``name==version`` of what a plain ``pip install -e .`` would install
    (new or upgraded)."""
    proc = pip('install', '--dry-run', '--quiet', '--report', '-', '-e',
               REPO)
    if proc.returncode != 0:
        raise SystemExit(f'pip install --dry-run failed:\n{proc.stderr}')
    report = json.loads(proc.stdout)
    return [
        f"{_canon(item['metadata']['name'])}=={item['metadata']['version']}"
        for item in report['install']
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--fresh', nargs='*', default=['albumentations', 'albucore'],
        help='packages only mmyoloms brings, removed first with mmyoloms')
    args = parser.parse_args(argv)

    missing = [name for name in STACK if name not in installed()]
    if missing:
        print(f'this environment lacks {missing}: run it in one that has '
              f'the whole stack {list(STACK)}', file=sys.stderr)
        return 2
    remove = ['mmyoloms'] + list(args.fresh)
    proc = pip('uninstall', '--yes', *remove)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return 1
    before = installed()
    print('stack:', ', '.join(f'{n} {before[n]}' for n in STACK))

    ok = True
    planned = dry_run_installs()
    print('plain `pip install -e .` would install:', planned or 'nothing')
    replaced = [p for p in planned if p.split('==')[0] in STACK]
    if replaced:
        print(f'FAIL: it would replace {replaced}')
        ok = False
    changed_by_plain = [
        p for p in planned
        if p.split('==')[0] in before and p.split('==')[0] not in STACK
    ]
    if changed_by_plain:
        print('note: a plain install would also change '
              f'{changed_by_plain}; the one-liner below keeps them')

    with tempfile.NamedTemporaryFile('w', suffix='.txt') as frozen:
        frozen.write(
            pip('list', '--format=freeze').stdout)
        frozen.flush()
        proc = pip('install', '--quiet', '-e', REPO, '-c', frozen.name)
    if proc.returncode != 0:
        print(f'FAIL: the one-line install failed:\n{proc.stderr}')
        return 1
    after = installed()
    changed = {
        name: (version, after.get(name))
        for name, version in before.items() if after.get(name) != version
    }
    if changed:
        print(f'FAIL: the one-line install changed {changed}')
        ok = False
    added = sorted(set(after) - set(before))
    print('the one-line install added:', ', '.join(
        f'{n} {after[n]}' for n in added))
    print('install check:', 'ok' if ok else 'FAILED')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
