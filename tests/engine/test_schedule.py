"""rescale_schedule: the stages found by type, the values checked by hand,
and the schedulers it leaves built and stepped as the runner steps them."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS

from mmyoloms.engine import rescale_schedule
from ..conftest import REPO_ROOT

SHAPES_XS = osp.join(REPO_ROOT, 'configs', 'shapes',
                     'yoloms-xs_fast_1xb8-10e_shapes.py')
COCO_XS = osp.join(REPO_ROOT, 'configs', 'yoloms',
                   'yoloms-xs_syncbn_fast_8xb8-300e_coco.py')
FASTER_RCNN = osp.join(REPO_ROOT, 'configs', 'mmdet',
                       'faster-rcnn_yoloms-s_fpn_1x_coco.py')


def _lrs(cfg, epoch_length, epochs=None):
    """The lr of every training iteration under ``cfg.param_scheduler``,
    the schedulers built and stepped as mmengine's runner does it (of the
    first ``epochs`` epochs; None: all)."""
    optim = OptimWrapper(
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))],
                        lr=cfg.optim_wrapper.optimizer.lr))
    schedulers = [
        PARAM_SCHEDULERS.build(
            s, default_args=dict(optimizer=optim, epoch_length=epoch_length))
        for s in cfg.param_scheduler
    ]
    lrs = []
    for _ in range(epochs or cfg.train_cfg.max_epochs):
        for _ in range(epoch_length):
            lrs.append(optim.param_groups[0]['lr'])
            for s in schedulers:  # ParamSchedulerHook.after_train_iter
                if not s.by_epoch:
                    s.step()
        for s in schedulers:  # ParamSchedulerHook.after_train_epoch
            if s.by_epoch:
                s.step()
    return lrs


def _cosine(base, eta_min, t, period):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / period)) / 2


def test_shapes_schedule_to_three_epochs():
    cfg = Config.fromfile(SHAPES_XS)
    short = rescale_schedule(cfg, 3)
    # the caller's config is not changed
    assert cfg.train_cfg.max_epochs == 10
    assert cfg.param_scheduler[1].end == 10
    warmup, cosine = short.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 100)
    # cosine began after the first of 10 epochs; round(1 * 3 / 10) = 0 is
    # moved to 1, so it still starts after the first epoch
    assert (cosine.begin, cosine.end, cosine.T_max) == (1, 3, 2)
    # val and checkpoint every 5 of 10 epochs -> round(1.5) = 2 of 3
    assert short.train_cfg.max_epochs == 3
    assert short.train_cfg.val_interval == 2
    assert short.default_hooks.checkpoint.interval == 2
    assert short.max_epochs == 3 and short.val_interval == 2
    assert short.custom_hooks == cfg.custom_hooks  # EMA untouched

    # 1000 images, batch 8: 125 iterations per epoch
    lrs = _lrs(short, 125)
    base, eta = 0.004, 0.004 * 0.05
    assert len(lrs) == 375
    assert lrs[0] == pytest.approx(base * 1e-5)
    # mmengine's LinearLR reaches its end factor after end - begin - 1 steps
    assert lrs[50] == pytest.approx(base * (1e-5 + (1 - 1e-5) * 50 / 99))
    assert lrs[98] < base and lrs[99] == pytest.approx(base)
    # flat after the warm-up until the cosine starts at iteration 125
    assert lrs[124] == pytest.approx(base) and lrs[125] == pytest.approx(base)
    # cosine over iterations 125..375: half way down at 250
    assert lrs[250] == pytest.approx((base + eta) / 2)
    assert lrs[200] == pytest.approx(_cosine(base, eta, 75, 250))
    assert lrs[374] == pytest.approx(_cosine(base, eta, 249, 250))
    assert min(lrs[125:]) >= eta


def test_shapes_schedule_to_one_epoch():
    short = rescale_schedule(Config.fromfile(SHAPES_XS), 1,
                             warmup_iters=4, val_interval=1)
    warmup, cosine = short.param_scheduler
    assert warmup.end == 4
    assert (cosine.begin, cosine.end, cosine.T_max) == (0, 1, 1)
    assert short.train_cfg.val_interval == 1
    lrs = _lrs(short, 8)
    base, eta = 0.004, 0.004 * 0.05
    assert lrs[0] == pytest.approx(base * 1e-5)
    # warm-up and cosine overlap (mmengine chains their factors); past the
    # warm-up the lr only falls, and stays above eta_min
    assert lrs[3] == max(lrs)
    assert all(a > b for a, b in zip(lrs[3:], lrs[4:]))
    assert lrs[-1] > eta


@pytest.mark.parametrize('epochs', [5, 30, 600])
def test_decay_that_follows_the_warm_up_keeps_following_it(epochs):
    """The shapes configs warm up for 100 iterations, inside the first
    epoch, and start the cosine at epoch 1: the warm-up keeps its
    iterations, so the cosine keeps starting at epoch 1, with no flat lr
    in between, whatever the number of epochs."""
    short = rescale_schedule(Config.fromfile(SHAPES_XS), epochs)
    warmup, cosine = short.param_scheduler
    assert warmup.end == 100
    assert (cosine.begin, cosine.end, cosine.T_max) == (1, epochs,
                                                        epochs - 1)
    lrs = _lrs(short, 125, epochs=2)
    base, eta = 0.004, 0.004 * 0.05
    assert lrs[99] == pytest.approx(base) and lrs[125] == pytest.approx(base)
    assert lrs[126] < base
    assert lrs[249] == pytest.approx(_cosine(base, eta, 124, 125 *
                                             (epochs - 1)))


@pytest.mark.parametrize('epochs, begin', [(5, 3), (30, 15), (600, 300)])
def test_decay_in_the_second_half_keeps_its_share(epochs, begin):
    """The RTMDet/YOLO-MS recipes start the cosine half way (epoch 150 of
    300): it keeps its place in the schedule (2.5 rounds half up)."""
    cfg = Config.fromfile(COCO_XS)
    assert cfg.param_scheduler[1].begin == 150
    cosine = rescale_schedule(cfg, epochs).param_scheduler[1]
    assert (cosine.begin, cosine.end, cosine.T_max) == (begin, epochs,
                                                        epochs - begin)


def test_coco_recipe_to_twelve_epochs():
    cfg = Config.fromfile(COCO_XS)
    short = rescale_schedule(cfg, 12)
    warmup, cosine = short.param_scheduler
    assert warmup.end == 1000  # iterations: kept
    # cosine over the second half: 150..300 -> 6..12
    assert (cosine.begin, cosine.end, cosine.T_max) == (6, 12, 6)
    # stage 2 is the last 20 of 300 epochs -> max(1, round(0.8)) = 1
    ema, switch = short.custom_hooks
    assert switch.type == 'mmdet.PipelineSwitchHook'
    assert switch.switch_epoch == 11
    assert switch.switch_pipeline == cfg.custom_hooks[1].switch_pipeline
    assert ema == cfg.custom_hooks[0]
    assert short.train_cfg.dynamic_intervals == [(11, 1)]
    # every 10 of 300 epochs -> every epoch of 12
    assert short.train_cfg.val_interval == 1
    assert short.default_hooks.checkpoint.interval == 1
    assert (short.max_epochs, short.num_epochs_stage2,
            short.save_checkpoint_intervals) == (12, 1, 1)

    lrs = _lrs(short, 200)
    base, eta = 0.004, 0.0002
    assert lrs[998] < base and lrs[999] == pytest.approx(base)
    assert lrs[1199] == pytest.approx(base)  # flat until epoch 6
    assert lrs[1800] == pytest.approx((base + eta) / 2)
    assert lrs[-1] == pytest.approx(_cosine(base, eta, 1199, 1200))


def test_coco_recipe_to_six_hundred_epochs():
    long = rescale_schedule(Config.fromfile(COCO_XS), 600)
    assert (long.param_scheduler[1].begin, long.param_scheduler[1].end,
            long.param_scheduler[1].T_max) == (300, 600, 300)
    assert long.custom_hooks[1].switch_epoch == 560
    assert long.train_cfg.dynamic_intervals == [(560, 2)]
    assert long.train_cfg.val_interval == 20
    assert long.default_hooks.checkpoint.interval == 20


def test_mmdet_multistep_schedule():
    cfg = Config.fromfile(FASTER_RCNN)
    longer = rescale_schedule(cfg, 24)
    warmup, steps = longer.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 500)
    assert (steps.type, steps.begin, steps.end) == ('MultiStepLR', 0, 24)
    assert steps.milestones == [16, 22]
    # steps at 8 and 11 of 12 epochs -> round(2.67) = 3 and 4 is moved
    # into [1, 3]: both decays still happen inside the 4 epochs
    assert rescale_schedule(cfg, 4).param_scheduler[1].milestones == [3, 3]
    lrs = _lrs(rescale_schedule(cfg, 4, warmup_iters=2), 10)
    assert lrs[29] == pytest.approx(0.02)
    assert lrs[30] == pytest.approx(0.02 * 0.01)
    # a one-epoch run keeps no step
    assert rescale_schedule(cfg, 1).param_scheduler[1].milestones == []


def test_yolov5_param_scheduler_hook():
    cfg = Config(
        dict(
            train_cfg=dict(max_epochs=300, val_interval=10),
            default_hooks=dict(
                param_scheduler=dict(
                    type='YOLOv5ParamSchedulerHook', max_epochs=300,
                    warmup_epochs=3)),
            param_scheduler=None,
            custom_hooks=[
                dict(type='mmdet.PipelineSwitchHook', switch_epoch=290,
                     switch_pipeline=[])
            ],
            close_mosaic_epochs=10))
    short = rescale_schedule(cfg, 30)
    assert short.default_hooks.param_scheduler.max_epochs == 30
    assert short.default_hooks.param_scheduler.warmup_epochs == 3
    assert short.custom_hooks[0].switch_epoch == 29
    assert short.close_mosaic_epochs == 1
    assert short.train_cfg.val_interval == 1


def _with_schedulers(*schedulers):
    return Config(
        dict(train_cfg=dict(max_epochs=10),
             param_scheduler=list(schedulers)))


WARMUP = dict(type='LinearLR', by_epoch=False, begin=0, end=10)
COSINE = dict(type='CosineAnnealingLR', by_epoch=True, begin=2, end=10,
              T_max=8, convert_to_iter_based=True)


@pytest.mark.parametrize('schedulers, match', [
    ((WARMUP, dict(type='StepLR', by_epoch=True, step_size=3)),
     r'holds LinearLR\(by_epoch=False\), StepLR\(by_epoch=True\)'),
    ((WARMUP, dict(COSINE, by_epoch=False)),
     r'CosineAnnealingLR\(by_epoch=False\)'),
    ((WARMUP, COSINE, COSINE), 'CosineAnnealingLR.*CosineAnnealingLR'),
    ((WARMUP, ), r'holds LinearLR\(by_epoch=False\)$'),
    ((dict(WARMUP, by_epoch=True), COSINE), r'LinearLR\(by_epoch=True\)'),
    ((WARMUP, dict(COSINE, T_max=4)), 'T_max=4'),
    ((WARMUP, dict(COSINE, end=12)), 'end=12'),
])
def test_schedules_it_cannot_rescale(schedulers, match):
    with pytest.raises(ValueError, match=match):
        rescale_schedule(_with_schedulers(*schedulers), 5)


def test_bad_arguments_and_loops():
    cfg = _with_schedulers(WARMUP, COSINE)
    for kwargs, name in ((dict(epochs=0), 'epochs'),
                         (dict(epochs=2.5), 'epochs'),
                         (dict(epochs=3, warmup_iters=0), 'warmup_iters'),
                         (dict(epochs=3, val_interval=-1), 'val_interval')):
        with pytest.raises(ValueError, match=name):
            rescale_schedule(cfg, **kwargs)
    iters = Config(dict(train_cfg=dict(type='IterBasedTrainLoop',
                                       max_iters=100)))
    with pytest.raises(ValueError, match='epoch-based.*max_iters'):
        rescale_schedule(iters, 3)
    with pytest.raises(ValueError, match='no iteration-based LinearLR'):
        rescale_schedule(_with_schedulers(COSINE), 3, warmup_iters=5)
    # a schedule without warm-up is fine
    assert rescale_schedule(_with_schedulers(COSINE),
                            5).param_scheduler[0].T_max == 4
