"""Short CPU runs of the real tools on a tiny generated COCO dataset."""
import argparse
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from .conftest import REPO_ROOT
from .tiny_coco import make_tiny_coco, tiny_train_config


def _run(args, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS='2', PYTHONWARNINGS='ignore')
    env.update(kwargs.pop('env', {}))
    proc = subprocess.run([sys.executable] + args, cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300,
                          **kwargs)
    return proc


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Train YOLO-MS-XS for 2 iterations with tools/train.py."""
    root = tmp_path_factory.mktemp('tiny')
    data = make_tiny_coco(str(root / 'data'))
    work = str(root / 'work')
    config = tiny_train_config(data, work, max_iters=2)
    proc = _run(['tools/train.py', config])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return config, work


def test_train_saves_checkpoint(trained):
    config, work = trained
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    ckpt = torch.load(osp.join(work, 'iter_2.pth'), weights_only=False)
    assert ckpt['meta']['iter'] == 2
    assert set(ckpt) >= {'state_dict', 'optimizer', 'message_hub', 'meta'}


def test_resume_continues_from_checkpoint(trained):
    """--resume goes through mmengine's loader, which on torch >= 2.6 only
    works with mmyoloms.compat (no weights_only=False anywhere)."""
    config, work = trained
    proc = _run([
        'tools/train.py', config, '--resume',
        osp.join(work, 'iter_2.pth'), '--cfg-options',
        'train_cfg.max_iters=3', 'train_cfg.val_interval=3'
    ])
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/3]' in log
    assert 'Iter(train) [1/3]' not in log
    ckpt = torch.load(osp.join(work, 'iter_3.pth'), weights_only=False)
    assert ckpt['meta']['iter'] == 3


def test_tools_test_on_official_format_checkpoint(trained, tmp_path):
    """tools/test.py evaluates a checkpoint that holds only weights and
    mmengine meta, as the official release does."""
    config, work = trained
    full = torch.load(osp.join(work, 'iter_2.pth'), weights_only=False)
    official = str(tmp_path / 'official.pth')
    torch.save(dict(state_dict=full['state_dict'], meta=full['meta']),
               official)
    proc = _run(['tools/test.py', config, official, '--work-dir',
                 str(tmp_path / 'test')])
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'coco/bbox_mAP' in log
    assert 'missing keys' not in log and 'unexpected key' not in log


def test_untrusted_checkpoint_is_refused_by_tools(trained, tmp_path):
    config, _ = trained
    evil = str(tmp_path / 'evil.pth')
    # argparse.Namespace: common in old checkpoints, not in any allowlist
    torch.save({'state_dict': {}, 'args': argparse.Namespace(lr=0.1)}, evil)
    proc = _run(['tools/test.py', config, evil, '--work-dir',
                 str(tmp_path / 'test')])
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'Refusing to load checkpoint' in log
    assert 'argparse.Namespace' in log
