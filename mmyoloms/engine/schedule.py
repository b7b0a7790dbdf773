"""Rescale a config's training schedule to another number of epochs.

A recipe's schedule is spread over several places of its config: the
parameter schedulers, the train loop's validation intervals, the checkpoint
interval and the epoch of the pipeline switch (Mosaic/MixUp off for the last
epochs). :func:`rescale_schedule` changes them together, so that a 300-epoch
COCO recipe becomes a consistent 12-epoch one, or the shapes demo schedule a
3-epoch one, without arithmetic on list positions.

Rules (``r = epochs / old_epochs``; rounding is half up):

* the **warm-up** (``LinearLR`` with ``by_epoch=False``) counts iterations
  and keeps them: it protects the first steps of training, whatever the
  length of the schedule (as mmdet's 1x and 2x schedules share one
  warm-up); ``warmup_iters`` replaces its length;
* the **decay stage** (one epoch-based ``CosineAnnealingLR``, usually with
  ``convert_to_iter_based=True``, or one ``MultiStepLR``) keeps its place in
  the schedule: an epoch ``p`` strictly inside ``(0, old_epochs)`` moves to
  ``round(p * r)``, kept within ``[1, epochs - 1]`` so that a stage that
  started after the first epoch still does; its end moves with the end of
  training, and ``T_max`` stays ``end - begin`` (a one-epoch schedule runs
  its cosine over that epoch; a multi-step one keeps no step). A decay
  that begins at epoch 1 after the warm-up (the shapes configs: a warm-up
  inside the first epoch, the cosine from the end of that epoch) begins
  where the warm-up ends, and the warm-up keeps its iterations: it keeps
  beginning at epoch 1 (moving it would open a flat-lr gap between the
  two). A decay placed later by design (the RTMDet/YOLO-MS recipes'
  second half, epoch 150 of 300) keeps its share of the schedule;
* mmyolo's ``YOLOv5ParamSchedulerHook`` (YOLOv5/v6/v8 recipes) gets the new
  ``max_epochs``;
* the **last stage** (``PipelineSwitchHook``, e.g. the last 20 of 300
  epochs of the RTMDet/YOLO-MS recipes) keeps its share of the schedule
  counted from the end, at least one epoch: it switches at
  ``epochs - max(1, round(stage2 * r))``; a dynamic validation interval
  that starts at the switch moves with it;
* **intervals** (validation, checkpoints, dynamic validation intervals)
  scale to ``round(i * r)`` within ``[1, epochs]``; ``val_interval``
  replaces the validation interval (mmengine validates after the last
  epoch in any case);
* the recipe's top-level knobs (``max_epochs``, ``num_epochs_stage2``,
  ``close_mosaic_epochs``, ``val_interval``, ``save_checkpoint_intervals``)
  are updated where they hold the value they fed, so that the dumped config
  reads consistently; EMA and everything else are left alone.
"""
import copy
import math
from typing import List, Optional

from mmengine.config import Config

from ..utils import positive_int

__all__ = ['rescale_schedule']

_DECAY_TYPES = ('CosineAnnealingLR', 'MultiStepLR')


def _type(cfg) -> str:
    """A registry type name without its scope (``mmdet.PipelineSwitchHook``
    -> ``PipelineSwitchHook``)."""
    name = cfg.get('type', '') if hasattr(cfg, 'get') else ''
    name = name if isinstance(name, str) else getattr(name, '__name__', '')
    return name.split('.')[-1]


def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


def _describe(schedulers: List) -> str:
    if not schedulers:
        return 'none'
    return ', '.join(f'{_type(s) or repr(s)}(by_epoch={s.get("by_epoch", True)})'
                     for s in schedulers)


class _Scale:
    """The epoch arithmetic from ``old`` to ``new`` epochs."""

    def __init__(self, old: int, new: int) -> None:
        self.old, self.new = old, new
        self.ratio = new / old

    def position(self, epoch: int) -> int:
        """A stage boundary or milestone (see the module docstring)."""
        if epoch <= 0:
            return epoch
        if epoch >= self.old:  # at or after the end: same distance to it
            return epoch - self.old + self.new
        if self.new == 1:
            return 0
        return min(max(_round(epoch * self.ratio), 1), self.new - 1)

    def from_end(self, epoch: int) -> int:
        """An epoch counted from the end (the start of the last stage)."""
        if epoch <= 0 or epoch >= self.old:
            return self.position(epoch)
        if self.new == 1:  # no room for a second stage
            return 1
        last = min(max(_round((self.old - epoch) * self.ratio), 1),
                   self.new - 1)
        return self.new - last

    def interval(self, interval: int) -> int:
        return min(max(_round(interval * self.ratio), 1), self.new)


def _rescale_param_schedulers(cfg: Config, scale: _Scale,
                              warmup_iters: Optional[int]) -> None:
    schedulers = cfg.get('param_scheduler')
    hook = cfg.get('default_hooks', {}).get('param_scheduler')
    if _type(hook or {}) == 'YOLOv5ParamSchedulerHook':
        if schedulers:
            raise ValueError(
                'cannot rescale a schedule driven both by '
                'default_hooks.param_scheduler (YOLOv5ParamSchedulerHook) and '
                f'by param_scheduler ({_describe(schedulers)})')
        if warmup_iters is not None:
            raise ValueError(
                'warmup_iters: the warm-up of YOLOv5ParamSchedulerHook is '
                'set by its warmup_epochs and warmup_mim_iter, not rescaled '
                'here')
        hook.max_epochs = scale.new
        return
    single = isinstance(schedulers, dict)
    found = [schedulers] if single else list(schedulers or [])
    warmups = [
        s for s in found
        if _type(s) == 'LinearLR' and not s.get('by_epoch', True)
    ]
    decays = [
        s for s in found
        if _type(s) in _DECAY_TYPES and s.get('by_epoch', True)
    ]
    if len(warmups) > 1 or len(decays) != 1 or \
            len(warmups) + len(decays) != len(found):
        raise ValueError(
            'rescale_schedule handles an optional iteration-based LinearLR '
            'warm-up followed by one epoch-based CosineAnnealingLR or '
            f'MultiStepLR; param_scheduler holds {_describe(found)}')
    if warmups and warmup_iters is not None:
        warmup = warmups[0]
        warmup.end = warmup.get('begin', 0) + warmup_iters
    elif warmup_iters is not None:
        raise ValueError('warmup_iters given, but param_scheduler has no '
                         f'iteration-based LinearLR ({_describe(found)})')
    decay = decays[0]
    old_begin = decay.get('begin', 0)
    old_end = decay.get('end')
    if old_end is None or old_end > scale.old:
        raise ValueError(
            f'the {_type(decay)} stage must end by train_cfg.max_epochs '
            f'({scale.old}); it has end={old_end}')
    if warmups and old_begin == 1 and scale.new > 1:
        decay.begin = 1  # right after the warm-up (module docstring)
    else:
        decay.begin = scale.position(old_begin)
    decay.end = scale.position(old_end)
    if _type(decay) == 'CosineAnnealingLR':
        t_max = decay.get('T_max')
        if t_max is not None:
            if t_max != old_end - old_begin:
                raise ValueError(
                    f'CosineAnnealingLR has T_max={t_max} != end - begin '
                    f'({old_end} - {old_begin}): its period cannot be '
                    'rescaled with the schedule')
            decay.T_max = decay.end - decay.begin
    else:
        decay.milestones = [
            scale.position(m) for m in decay.get('milestones', [])
            if scale.new > 1 or m <= 0
        ]


def rescale_schedule(cfg: Config,
                     epochs: int,
                     warmup_iters: Optional[int] = None,
                     val_interval: Optional[int] = None) -> Config:
    """The config with its training schedule rescaled to ``epochs`` epochs.

    Args:
        cfg (Config): A config with an epoch-based train loop
            (``train_cfg.max_epochs``). It is not changed.
        epochs (int): The new number of training epochs.
        warmup_iters (int, optional): New length of the iteration-based
            warm-up; None keeps it. Defaults to None.
        val_interval (int, optional): Validation interval of the new
            schedule; None scales the config's. Defaults to None.

    Returns:
        Config: A copy of ``cfg`` with the rescaled schedule (see the module
        docstring for the rules).

    Raises:
        ValueError: The schedule is not one of those described above (the
            message names what the config holds), or an argument is not a
            positive int.

    Example:
        >>> cfg = Config.fromfile(
        ...     'configs/yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py')
        >>> short = rescale_schedule(cfg, 12)
        >>> short.param_scheduler[1].begin, short.custom_hooks[1].switch_epoch
        (6, 11)
    """
    epochs = positive_int(epochs, 'epochs')
    if warmup_iters is not None:
        positive_int(warmup_iters, 'warmup_iters')
    if val_interval is not None:
        positive_int(val_interval, 'val_interval')
    train_cfg = cfg.get('train_cfg') or {}
    old = train_cfg.get('max_epochs')
    if isinstance(old, bool) or not isinstance(old, int) or old < 1:
        raise ValueError(
            'rescale_schedule needs an epoch-based train loop with '
            f'train_cfg.max_epochs; got train_cfg={dict(train_cfg)!r}')
    cfg = copy.deepcopy(cfg)
    scale = _Scale(old, epochs)
    knobs = {}  # top-level name -> (value it fed, new value)
    knobs['max_epochs'] = (old, epochs)
    _rescale_param_schedulers(cfg, scale, warmup_iters)

    train_cfg = cfg.train_cfg
    train_cfg.max_epochs = epochs
    if 'val_begin' in train_cfg:
        train_cfg.val_begin = scale.position(train_cfg.val_begin)
    if 'val_interval' in train_cfg:
        new = val_interval or scale.interval(train_cfg.val_interval)
        knobs['val_interval'] = (train_cfg.val_interval, new)
        train_cfg.val_interval = new
    elif val_interval is not None:
        train_cfg.val_interval = val_interval

    switches = [
        h for h in cfg.get('custom_hooks') or []
        if _type(h) == 'PipelineSwitchHook'
    ]
    if len(switches) > 1:
        raise ValueError(f'{len(switches)} PipelineSwitchHooks in '
                         'custom_hooks; expected at most one')
    old_switch = switches[0].switch_epoch if switches else None
    if switches:
        switches[0].switch_epoch = scale.from_end(old_switch)
        for name in ('num_epochs_stage2', 'close_mosaic_epochs'):
            knobs[name] = (old - old_switch,
                           epochs - switches[0].switch_epoch)

    dynamic = train_cfg.get('dynamic_intervals')
    if dynamic:
        train_cfg.dynamic_intervals = [
            ((scale.from_end(m) if m == old_switch else scale.position(m)),
             scale.interval(i)) for m, i in dynamic
        ]

    checkpoint = cfg.get('default_hooks', {}).get('checkpoint')
    if checkpoint and checkpoint.get('by_epoch', True) and \
            checkpoint.get('interval', -1) > 0:
        new = scale.interval(checkpoint.interval)
        knobs['save_checkpoint_intervals'] = (checkpoint.interval, new)
        checkpoint.interval = new

    for name, (fed, new) in knobs.items():
        if name in cfg and cfg[name] == fed:
            cfg[name] = new
    return cfg
