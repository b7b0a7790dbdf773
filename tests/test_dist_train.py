"""tools/dist_train.sh CONFIG 2 trains with two processes: gloo on CPU,
loopback only."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

from .conftest import REPO_ROOT
from .shapes_utils import make_tiny_shapes, tiny_shapes_config


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.timeout(300)
def test_dist_train_two_processes(tmp_path):
    data = make_tiny_shapes(str(tmp_path / 'shapes'), num_train=8)
    # 8 images, 2 per process and step, 2 processes: 2 steps per epoch
    config = tiny_shapes_config(data, str(tmp_path / 'cfg.py'),
                                max_epochs=1)
    work = str(tmp_path / 'work')
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        MASTER_ADDR='127.0.0.1',
        PORT=str(_free_port()),
        OMP_NUM_THREADS='1',
        PYTHONWARNINGS='ignore')
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=280)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    # each process sees half of the data: 2 iterations make an epoch
    assert 'Epoch(train) [1][2/2]' in log
    assert 'coco/bbox_mAP' in log
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), map_location='cpu',
                      weights_only=False)
    assert ckpt['meta']['iter'] == 2
