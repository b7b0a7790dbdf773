"""setup.py's requirements admit every row of the support matrix
(docs/install.md), agree with the rows' constraints files, and cap nothing
that an existing environment would have to replace."""
import ast
import os.path as osp
import re

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from .conftest import REPO_ROOT

#: The rows: Python, then the stack's versions (docs/install.md).
ROWS = {
    'oldest': ('3.10.13', dict(torch='2.0.1')),
    'default': ('3.11.7', dict(torch='2.13.0')),
    'newest': ('3.12.1', dict(torch='2.15.0')),
}
STACK = dict(mmengine='0.10.7', mmcv='2.0.1', mmdet='3.3.0', mmyolo='0.6.0')
#: The extras each row installs (scripts/setup.sh).
ROW_EXTRAS = dict(oldest=('tests', 'onnx'), default=('tests', 'deploy'),
                  newest=('tests', 'deploy'))


def _setup_kwargs():
    with open(osp.join(REPO_ROOT, 'setup.py'), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    calls = [
        node for node in ast.walk(tree) if isinstance(node, ast.Call)
        and getattr(node.func, 'id', None) == 'setup'
    ]
    assert len(calls) == 1
    wanted = ('python_requires', 'install_requires', 'extras_require')
    return {
        kw.arg: ast.literal_eval(kw.value)
        for kw in calls[0].keywords if kw.arg in wanted
    }


def _requirements():
    return {
        Requirement(r).name: Requirement(r)
        for r in _setup_kwargs()['install_requires']
    }


def _constraints(row):
    pins = {}
    with open(osp.join(REPO_ROOT, 'requirements', f'{row}.txt')) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                req = Requirement(line)
                pins[req.name.lower().replace('_', '-')] = req
    return pins


@pytest.mark.parametrize('row', sorted(ROWS))
def test_every_row_is_admitted(row):
    python, versions = ROWS[row]
    assert python in SpecifierSet(_setup_kwargs()['python_requires'])
    reqs = _requirements()
    for name, version in {**STACK, **versions}.items():
        assert reqs[name].specifier.contains(version), (name, version)


def test_torch_and_mmcv_are_not_capped_above_what_users_have():
    """An environment with a newer torch keeps it: torch has no upper
    bound; mmcv's is the 2.0.x line that mmdet 3.3 itself requires."""
    reqs = _requirements()
    assert reqs['torch'].specifier.contains('2.99.0')
    assert not reqs['torch'].specifier.contains('1.13.1')
    assert reqs['mmcv'].specifier.contains('2.0.1')
    assert not reqs['mmcv'].specifier.contains('2.1.0')


@pytest.mark.parametrize('row', sorted(ROWS))
def test_constraints_agree_with_setup(row):
    """Every pin of requirements/ROW.txt that setup.py constrains (its
    install requirements and the row's extras) satisfies setup.py."""
    kwargs = _setup_kwargs()
    reqs = [Requirement(r) for r in kwargs['install_requires']]
    for extra in ROW_EXTRAS[row]:
        reqs += [Requirement(r) for r in kwargs['extras_require'][extra]]
    pins = _constraints(row)
    assert pins['torch'].specifier == SpecifierSet(f'=={ROWS[row][1]["torch"]}')
    checked = 0
    for req in reqs:
        pin = pins.get(req.name.lower().replace('_', '-'))
        if pin is None:
            continue
        (version, ) = [s.version for s in pin.specifier]
        assert req.specifier.contains(version), (row, str(req), str(pin))
        checked += 1
    assert checked >= 1


def test_compat_subset_lists_existing_tests():
    """The one list `make test-compat` runs (COMPAT_TESTS in the Makefile)
    names files and folders that exist, this file among them."""
    with open(osp.join(REPO_ROOT, 'Makefile')) as f:
        text = f.read()
    match = re.search(r'^COMPAT_TESTS = ((?:.*\\\n)*.*)$', text, re.M)
    paths = match.group(1).replace('\\\n', ' ').split()
    assert 'tests/test_install_requirements.py' in paths
    assert 'tests/test_train_e2e.py' in paths
    missing = [p for p in paths if not osp.exists(osp.join(REPO_ROOT, p))]
    assert missing == []
