"""A training run killed after its first checkpoint resumes with --resume
and ends where an uninterrupted run would, with a valid checkpoint."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from mmyolo.registry import MODELS
from .conftest import REPO_ROOT
from .shapes_utils import make_tiny_shapes, tiny_shapes_config

MAX_EPOCHS = 3
ITERS_PER_EPOCH = 4  # 8 training images, batch size 2


def _env():
    return dict(os.environ, OMP_NUM_THREADS='2', PYTHONWARNINGS='ignore')


@pytest.mark.timeout(400)
def test_killed_run_resumes_to_the_same_end(tmp_path):
    data = make_tiny_shapes(str(tmp_path / 'shapes'), num_train=8)
    config = tiny_shapes_config(data, str(tmp_path / 'cfg.py'),
                                max_epochs=MAX_EPOCHS)
    work = str(tmp_path / 'work')
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work]
    log_file = open(tmp_path / 'first.log', 'w')
    # own session: the kill reaches the run and nothing else
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=_env(), stdout=log_file,
                            stderr=subprocess.STDOUT, start_new_session=True)
    marker = osp.join(work, 'last_checkpoint')  # written after the .pth
    deadline = time.monotonic() + 300
    try:
        while not osp.isfile(marker) and proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail('no checkpoint within 300 s')
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        log_file.close()
    assert proc.returncode == -signal.SIGKILL, (tmp_path / 'first.log'
                                                ).read_text()[-3000:]
    with open(marker) as f:
        killed_at = f.read().strip()
    epoch = int(osp.basename(killed_at)[len('epoch_'):-len('.pth')])
    assert epoch < MAX_EPOCHS
    assert not osp.isfile(osp.join(work, f'epoch_{MAX_EPOCHS}.pth'))

    proc = subprocess.run(cmd + ['--resume'], cwd=REPO_ROOT, env=_env(),
                          capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert f'resumed epoch: {epoch}, iter: {epoch * ITERS_PER_EPOCH}' in log
    # the resumed run trains only the remaining epochs
    assert f'Epoch(train) [{epoch}]' not in log
    assert f'Epoch(train) [{MAX_EPOCHS}][{ITERS_PER_EPOCH}/' in log

    final = osp.join(work, f'epoch_{MAX_EPOCHS}.pth')
    ckpt = torch.load(final, map_location='cpu', weights_only=False)
    assert ckpt['meta']['epoch'] == MAX_EPOCHS
    assert ckpt['meta']['iter'] == MAX_EPOCHS * ITERS_PER_EPOCH
    assert {'state_dict', 'optimizer', 'param_schedulers',
            'ema_state_dict'} <= set(ckpt)
    # the final checkpoint loads into the model, every key matching
    model = MODELS.build(Config.fromfile(config).model)
    load_checkpoint(model, final, map_location='cpu', strict=True)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, ckpt['state_dict'][name]), name
