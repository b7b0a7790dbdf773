"""``make sweep-demo`` shortens the shapes schedule through --cfg-options;
the options it passes must give a valid warm-up + cosine schedule, which
decays to ``eta_min`` by the last iteration of a full run (the smoke run's
two iterations stay inside the warm-up)."""
import argparse
import os.path as osp
import shlex
import subprocess

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.optim import OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHAPES_XS = osp.join(REPO, 'configs', 'shapes',
                     'yoloms-xs_fast_1xb8-10e_shapes.py')


def _sweep_demo_options(*make_vars):
    """The --cfg-options of ``make -n sweep-demo`` as a dict."""
    out = subprocess.run(['make', '-n', '-s', 'sweep-demo', *make_vars],
                         cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.replace('\\\n', ' ')
    line = next(ln for ln in out.splitlines() if 'tools/sweep.py' in ln)
    words = shlex.split(line)
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args, _ = parser.parse_known_args(
        words[words.index('--cfg-options'):])
    return args.cfg_options


def _lrs(cfg, epoch_length):
    """The lr of every training iteration under ``cfg.param_scheduler``."""
    lr = cfg.optim_wrapper.optimizer.lr
    optim = OptimWrapper(
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr))
    schedulers = [
        PARAM_SCHEDULERS.build(
            s, default_args=dict(optimizer=optim, epoch_length=epoch_length))
        for s in cfg.param_scheduler
    ]
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs * epoch_length):
        lrs.append(optim.param_groups[0]['lr'])
        for s in schedulers:  # all iteration based, as the runner steps them
            s.step()
    return lrs


@pytest.mark.parametrize('make_vars, epochs, epoch_length', [
    ((), 3, 125),  # the default: 1000 shapes images, batch 8
    (('SWEEP_EPOCHS=5', ), 5, 125),
    (('SWEEP_SMOKE=1', ), 1, 2),  # 16 images, batch 8
])
def test_sweep_demo_schedule(make_vars, epochs, epoch_length):
    options = _sweep_demo_options(*make_vars)
    cfg = Config.fromfile(SHAPES_XS)
    cfg.merge_from_dict(options)
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.train_cfg.val_interval == epochs  # evaluated once, at the end
    lrs = _lrs(cfg, epoch_length)
    base_lr = cfg.optim_wrapper.optimizer.lr
    eta_min = cfg.param_scheduler[1].eta_min
    assert all(0 < lr <= base_lr * (1 + 1e-9) for lr in lrs)
    if epochs > 1:
        # the warm-up epoch, then cosine down to eta_min
        assert lrs[epoch_length] == pytest.approx(base_lr)
        assert lrs[-1] == pytest.approx(eta_min, rel=0.02)
