"""tools/dist_train.sh and tools/dist_test.sh: the torch.distributed.run
command line they compose (read through a stand-in for PYTHON that prints
its arguments, so nothing is launched)."""
import os
import stat
import subprocess

import pytest

from .conftest import REPO_ROOT


@pytest.fixture
def fake_python(tmp_path):
    """A PYTHON that prints PYTHONPATH and then one argument a line."""
    path = tmp_path / 'python'
    path.write_text('#!/usr/bin/env bash\n'
                    'echo "PYTHONPATH=$PYTHONPATH"\n'
                    'for a in "$@"; do echo "$a"; done\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _launch(script, args, fake_python, **env):
    # the launch settings are the defaults unless the test names them
    settings = ('NNODES', 'NODE_RANK', 'PORT', 'MASTER_ADDR')
    env = dict({k: v for k, v in os.environ.items() if k not in settings},
               PYTHON=fake_python, **env)
    proc = subprocess.run(['bash', script] + args, cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    first, *argv = proc.stdout.splitlines()
    return first, argv


def _torchrun(nproc, nnodes='1', node_rank='0', addr='127.0.0.1',
              port='29500'):
    return [
        '-m', 'torch.distributed.run', f'--nnodes={nnodes}',
        f'--node_rank={node_rank}', f'--master_addr={addr}',
        f'--nproc_per_node={nproc}', f'--master_port={port}'
    ]


def test_dist_train_command_line(fake_python):
    pythonpath, argv = _launch(
        'tools/dist_train.sh',
        ['cfg.py', '2', '--work-dir', 'w', '--cfg-options', 'a=1', 'b=2'],
        fake_python)
    assert pythonpath.startswith('PYTHONPATH=tools/..:')
    assert argv == _torchrun('2') + [
        'tools/train.py', 'cfg.py', '--launcher', 'pytorch', '--work-dir',
        'w', '--cfg-options', 'a=1', 'b=2'
    ]


def test_dist_test_command_line(fake_python):
    _, argv = _launch('tools/dist_test.sh',
                      ['cfg.py', 'ckpt.pth', '4', '--out', 'p.pkl'],
                      fake_python)
    assert argv == _torchrun('4') + [
        'tools/test.py', 'cfg.py', 'ckpt.pth', '--launcher', 'pytorch',
        '--out', 'p.pkl'
    ]


def test_launch_settings_from_the_environment(fake_python):
    _, argv = _launch(
        'tools/dist_test.sh', ['cfg.py', 'ckpt.pth', '8'],
        fake_python, NNODES='2', NODE_RANK='1', PORT='29611',
        MASTER_ADDR='10.0.0.2')
    assert argv == _torchrun('8', '2', '1', '10.0.0.2', '29611') + [
        'tools/test.py', 'cfg.py', 'ckpt.pth', '--launcher', 'pytorch'
    ]
