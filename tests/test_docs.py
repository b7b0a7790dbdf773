"""The committed files under docs/ hold no absolute path of the machine they
were made on (its checkout, home or temporary folders, a Windows drive):
such a path says nothing to a reader, and artefacts that a run wrote
(JSON, CSV, tables, pictures) must record paths relative to something the
reader has.

One allowance: the hand-written pages (``docs/*.md``) may name a ``/tmp/``
scratch path in a command the reader runs (it means the same on every Unix
machine); in the artefact folders (``docs/*/``) ``/tmp/`` is a run's
temporary folder, a machine's path like any other."""
import os
import os.path as osp
import re
import subprocess

import pytest

from .conftest import REPO_ROOT

DOCS = osp.join(REPO_ROOT, 'docs')
# An absolute path under a machine's own folders: not preceded by a name
# character, so that 'work_dirs/', 'docs/tmp/' and URLs' paths do not count.
UNIX = re.compile(rb'(?<![\w.~-])/(work|root|home|tmp|Users|mnt)/')
WINDOWS = re.compile(rb'(?<![\w])[A-Za-z]:\\(?=[\w.])')


def machine_paths(name: str, data: bytes) -> list:
    """``(line, text)`` of every absolute machine path in the file ``name``
    (relative to docs/) with content ``data``."""
    page = '/' not in name and name.endswith('.md')
    binary = b'\0' in data
    found = []
    patterns = [UNIX] if binary else [UNIX, WINDOWS]  # 3 bytes: by chance
    for pattern in patterns:
        for match in pattern.finditer(data):
            if page and match.group(0) == b'/tmp/':
                continue
            line = data.count(b'\n', 0, match.start()) + 1
            end = data.find(b'\n', match.start())
            text = data[match.start():end if end >= 0 else None][:80]
            found.append((line, text.decode('utf-8', 'replace')))
    return found


def _committed_docs() -> list:
    try:
        listed = subprocess.run(
            ['git', 'ls-files', '-z', 'docs'], cwd=REPO_ROOT, check=True,
            capture_output=True).stdout.decode().split('\0')
        files = [osp.relpath(osp.join(REPO_ROOT, f), DOCS)
                 for f in listed if f]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        files = [osp.relpath(osp.join(d, f), DOCS)
                 for d, _, names in os.walk(DOCS) for f in names]
    return sorted(f for f in files if osp.isfile(osp.join(DOCS, f)))


@pytest.mark.parametrize('name, text, hits', [
    ('demo/plan.json', '"config": "/work/main/configs/a.py"', 1),
    ('demo/plan.json', '"config": "../../configs/a.py"', 0),
    ('sweep/results.csv', 'a,/tmp/pytest-of-root/x/epoch_1.pth\n', 1),
    ('sweep/results.md', 'see /home/alice/mmyoloms', 1),
    ('install.md', 'git clone /root/mmyoloms x', 1),
    ('install.md', 'flock /tmp/cpu.lock make demo', 0),
    ('demo.md', 'work_dirs/demo/ and https://example.org/home/x', 0),
    ('deploy.md', r'C:\Users\me\model.onnx', 1),
    ('demo/curves.png', '\0\x89PNG C:\\x', 0),
    ('demo/curves.png', '\0\x89PNG /home/me/', 1),
])
def test_machine_paths_finds_absolute_paths(name, text, hits):
    assert len(machine_paths(name, text.encode())) == hits


def test_docs_hold_no_machine_paths():
    files = _committed_docs()
    assert 'demo.md' in files  # the listing works
    found = []
    for name in files:
        with open(osp.join(DOCS, name), 'rb') as f:
            found += [f'docs/{name}:{line}: {text}'
                      for line, text in machine_paths(name, f.read())]
    assert not found, 'absolute paths of a machine:\n' + '\n'.join(found)
