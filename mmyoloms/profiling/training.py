"""Where the time of a training step goes.

:func:`profile_training` runs a config's own training loop (MMEngine's
runner, the config's dataloader, model, optimizer and hooks) for a few
iterations and splits each iteration into phases by timing the methods
the loop calls::

    iteration = data            (waiting for the next batch)
              + data_preprocessor
              + backbone + neck + head        (forward)
              + assigner + loss               (head.loss_by_feat)
              + backward + optimizer step + zero_grad
              + hooks (EMA, logger, scheduler, ...) + other

Every phase is timed *exclusive* of the phases nested in it (the assigner
runs inside ``loss_by_feat``; "loss" is the rest of it). A few further
iterations run under :mod:`torch.profiler`, and each operator's self time
is charged to the innermost phase that called it, which gives the
per-operator breakdown of forward and backward.

Nothing of the model or the config is changed except the length of the run
(one epoch of ``warmup + iters + op_iters`` iterations, no validation or
checkpoint), so the figures are those of the config as it trains.
Tables are made by :mod:`mmyoloms.profiling.report`.
"""
import contextlib
import copy
import os.path as osp
import statistics
import tempfile
import time
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

# Phases in the order of a training iteration: (key, label).
PHASES = (
    ('data', 'data loading (wait for the next batch)'),
    ('data_preprocessor', 'data preprocessor (normalise, batch)'),
    ('backbone', 'forward: backbone'),
    ('neck', 'forward: neck'),
    ('head', 'forward: head'),
    ('assigner', 'assigner'),
    ('loss', 'loss (without assigner)'),
    ('backward', 'backward'),
    ('optimizer_step', 'optimizer step'),
    ('zero_grad', 'zero_grad'),
)
# Groups of phases for the per-operator tables.
OP_GROUPS = (
    ('forward', ('data_preprocessor', 'backbone', 'neck', 'head')),
    ('assigner + loss', ('assigner', 'loss')),
    ('backward', ('backward', )),
    ('optimizer', ('optimizer_step', 'zero_grad')),
)


class _PhaseClock:
    """Times wrapped methods, each exclusive of wrapped methods it calls."""

    def __init__(self) -> None:
        self.current: Dict[str, float] = defaultdict(float)
        self._stack: List[float] = []  # time spent in children, per level
        self._patched: List[Tuple[object, str, bool, object]] = []

    def wrap(self, owner: object, attr: str, name: str) -> None:
        original = getattr(owner, attr)
        had_own = attr in vars(owner)
        clock = self

        def timed(*args, **kwargs):
            clock._stack.append(0.)
            start = time.perf_counter()
            try:
                with torch.profiler.record_function(name):
                    return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                children = clock._stack.pop()
                clock.current[name] += elapsed - children
                if clock._stack:
                    clock._stack[-1] += elapsed

        setattr(owner, attr, timed)
        self._patched.append((owner, attr, had_own, original))

    def restore(self) -> None:
        for owner, attr, had_own, original in reversed(self._patched):
            if had_own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
        self._patched.clear()

    def take(self) -> Dict[str, float]:
        times, self.current = dict(self.current), defaultdict(float)
        return times


class _IterationMark(Hook):
    """Marks where iterations start and end; two are registered, one that
    runs first and one that runs last among the hooks of an iteration."""

    def __init__(self, profiler: '_TrainingProfiler', is_first: bool):
        self.profiler = profiler
        self.is_first = is_first

    def before_train(self, runner) -> None:
        if self.is_first:
            self.profiler.instrument(runner)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.is_first:
            self.profiler.iteration_started(batch_idx)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if not self.is_first:
            self.profiler.iteration_ended(batch_idx)


class _TrainingProfiler:

    def __init__(self, warmup: int, iters: int, op_iters: int):
        self.warmup, self.iters, self.op_iters = warmup, iters, op_iters
        self.clock = _PhaseClock()
        self.records: List[Dict[str, float]] = []
        self.torch_profile: Optional[torch.profiler.profile] = None
        self._last_end: Optional[float] = None
        self._start = 0.

    @property
    def phase_names(self) -> List[str]:
        return [k for k, _ in PHASES]

    def instrument(self, runner: Runner) -> None:
        model = runner.model
        if hasattr(model, 'module'):  # a DDP wrapper
            model = model.module
        clock = self.clock
        clock.wrap(model.data_preprocessor, 'forward', 'data_preprocessor')
        for part in ('backbone', 'neck'):
            if getattr(model, part, None) is not None:
                clock.wrap(getattr(model, part), 'forward', part)
        head = getattr(model, 'bbox_head', None)
        if head is not None:
            clock.wrap(head, 'forward', 'head')
            clock.wrap(head, 'loss_by_feat', 'loss')
            assigner = getattr(head, 'assigner', None)
            if isinstance(assigner, torch.nn.Module):
                clock.wrap(assigner, 'forward', 'assigner')
            elif assigner is not None:
                clock.wrap(assigner, 'assign', 'assigner')
        clock.wrap(model, 'train_step', 'train_step (rest)')
        optim = runner.optim_wrapper
        clock.wrap(optim, 'backward', 'backward')
        clock.wrap(optim, 'step', 'optimizer_step')
        clock.wrap(optim, 'zero_grad', 'zero_grad')
        for hook in runner.hooks:
            if isinstance(hook, _IterationMark):
                continue
            for stage in ('before_train_iter', 'after_train_iter'):
                if getattr(type(hook), stage) is not getattr(Hook, stage):
                    clock.wrap(hook, stage,
                               f'hook: {type(hook).__name__}.{stage}')

    def iteration_started(self, batch_idx: int) -> None:
        now = time.perf_counter()
        self.clock.take()  # drop what ran between iterations
        self._start = now
        self._data = now - self._last_end if self._last_end else None
        if batch_idx == self.warmup + self.iters and self.op_iters:
            self.torch_profile = torch.profiler.profile(
                activities=[torch.profiler.ProfilerActivity.CPU])
            self.torch_profile.__enter__()

    def iteration_ended(self, batch_idx: int) -> None:
        now = time.perf_counter()
        times = self.clock.take()
        if self.torch_profile is not None and \
                batch_idx == self.warmup + self.iters + self.op_iters - 1:
            self.torch_profile.__exit__(None, None, None)
        if self.warmup <= batch_idx < self.warmup + self.iters:
            times['data'] = self._data
            times['iteration'] = now - self._last_end
            times['other'] = times['iteration'] - sum(
                v for k, v in times.items() if k != 'iteration')
            self.records.append(times)
        self._last_end = now


def _median_phases(records: List[Dict[str, float]]) -> Dict[str, float]:
    keys = {k for r in records for k in r}
    return {k: statistics.median(r.get(k, 0.) for r in records)
            for k in keys}


def _operator_table(prof: torch.profiler.profile, op_iters: int,
                    phase_names: Sequence[str]) -> Dict[str, list]:
    """Self CPU time of each operator, charged to the innermost phase
    (a label of :class:`_PhaseClock`) around it, grouped by OP_GROUPS."""
    group_of = {p: g for g, phases in OP_GROUPS for p in phases}
    labels = set(phase_names) | {'train_step (rest)'}
    totals: Dict[str, Dict[str, List[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0., 0]))
    for event in prof.events():
        if event.name in labels or event.name.startswith('hook: '):
            continue
        parent, phase = event.cpu_parent, None
        while parent is not None:
            if parent.name in labels:
                phase = parent.name
                break
            parent = parent.cpu_parent
        group = group_of.get(phase)
        if group is None:
            continue
        entry = totals[group][event.name]
        entry[0] += event.self_cpu_time_total / 1e3 / op_iters  # ms
        entry[1] += 1. / op_iters
    return {
        group: sorted(((name, ms, calls) for name, (ms, calls) in ops.items()
                       if ms > 0), key=lambda x: -x[1])
        for group, ops in totals.items()
    }


def profiling_config(cfg: Config, iters_total: int,
                     val_images: int = 0) -> Config:
    """``cfg`` trimmed to one epoch of ``iters_total`` iterations: the
    first ``iters_total x batch`` training images, no checkpoint, and no
    validation unless ``val_images`` (then the val loop is built on the
    first ``val_images`` val images, for :func:`profile_training` to time
    it once after training)."""
    cfg = copy.deepcopy(cfg)
    loader = cfg.train_dataloader
    loader.dataset.indices = iters_total * loader.batch_size
    cfg.train_cfg = dict(
        type=cfg.train_cfg.get('type', 'EpochBasedTrainLoop'),
        max_epochs=1,
        val_interval=2)
    if val_images:
        cfg.val_dataloader.dataset.indices = val_images
    else:
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.resume = False
    cfg.load_from = None
    return cfg


def profile_training(cfg: Config,
                     iters: int = 50,
                     warmup: int = 10,
                     op_iters: int = 5,
                     val_images: int = 0,
                     work_dir: Optional[str] = None) -> dict:
    """Train ``cfg`` for ``warmup + iters + op_iters`` iterations and say
    where the time of an iteration goes.

    Args:
        cfg (Config): A training config (its data must exist).
        iters (int): Timed iterations (after the warm-up). Defaults to 50.
        warmup (int): Iterations run first and not counted (worker start,
            allocator and oneDNN caches). Defaults to 10.
        op_iters (int): Iterations run under :mod:`torch.profiler` after
            the timed ones (0: none). Defaults to 5.
        val_images (int): After training, time one validation pass over
            this many val images (0: none). Defaults to 0.
        work_dir (str, optional): The runner's work dir (logs). Defaults
            to a temporary directory.

    Returns:
        dict: ``images_per_s`` and ``seconds_per_iter`` (total time of the
        timed iterations), ``median_images_per_s`` (from the median
        iteration: robust to other jobs taking the CPU for a while),
        ``iteration_seconds`` (each timed iteration), ``batch_size``,
        ``iters``, ``phases`` (median
        seconds per iteration of each phase, hooks and ``other``
        included, and ``iteration`` itself), ``ops`` (per group of
        phases, ``(operator, self ms per iteration, calls per iteration)``
        sorted by time), ``threads`` (torch intra-op threads) and, with
        ``val_images``, ``val_seconds_per_image`` and ``val_metrics`` (the
        config's val evaluator on those images, e.g. ``coco/bbox_mAP``).
    """
    if iters < 1 or warmup < 0 or op_iters < 0:
        raise ValueError(f'iters must be >= 1 and warmup, op_iters >= 0, '
                         f'got {iters}, {warmup}, {op_iters}')
    ann_file = osp.join(cfg.train_dataloader.dataset.get('data_root', ''),
                        cfg.train_dataloader.dataset.ann_file)
    if not osp.isfile(ann_file):
        raise FileNotFoundError(
            f'training annotations {ann_file} not found; the shapes '
            'dataset is written by `python tools/generate_shapes.py '
            'data/shapes`')
    total = warmup + iters + op_iters
    profiler = _TrainingProfiler(warmup, iters, op_iters)
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = stack.enter_context(tempfile.TemporaryDirectory())
        run_cfg = profiling_config(cfg, total, val_images)
        run_cfg.work_dir = work_dir
        # mmengine keeps loggers and visualizers by name (mmyolo's configs
        # name theirs 'visualizer', and a second one of that name keeps the
        # first's save dir): new names for every run
        name = f'profile_train_{time.time_ns()}'
        run_cfg.experiment_name = name
        if run_cfg.get('visualizer'):
            run_cfg.visualizer.name = name
        runner = Runner.from_cfg(run_cfg)
        if len(runner.train_dataloader) < total:
            raise ValueError(
                f'the training set gives {len(runner.train_dataloader)} '
                f'iterations per epoch, fewer than the {total} asked for')
        runner.register_hook(_IterationMark(profiler, True), 'HIGHEST')
        runner.register_hook(_IterationMark(profiler, False), 'LOWEST')
        try:
            runner.train()
        finally:
            profiler.clock.restore()
        val_seconds = val_metrics = None
        if val_images:
            start = time.perf_counter()
            val_metrics = runner.val_loop.run()
            val_seconds = (time.perf_counter() - start) / val_images
    records = profiler.records
    seconds = sum(r['iteration'] for r in records)
    batch = cfg.train_dataloader.batch_size
    ops = {}
    if profiler.torch_profile is not None:
        ops = _operator_table(profiler.torch_profile, op_iters,
                              profiler.phase_names)
    phases = _median_phases(records)
    return dict(
        batch_size=batch,
        iters=len(records),
        seconds_per_iter=seconds / len(records),
        images_per_s=batch * len(records) / seconds,
        median_images_per_s=batch / phases['iteration'],
        iteration_seconds=[r['iteration'] for r in records],
        phases=phases,
        ops=ops,
        threads=torch.get_num_threads(),
        val_seconds_per_image=val_seconds,
        val_metrics=val_metrics)


def _profile_in_child(cfg: Config, kwargs: dict, queue) -> None:
    try:
        queue.put(('ok', profile_training(cfg, **kwargs)))
    except BaseException as e:  # report, the parent raises
        import traceback
        queue.put(('error', f'{e!r}\n{traceback.format_exc()}'))


def profile_in_subprocess(cfg: Config, **kwargs) -> dict:
    """:func:`profile_training` in a fresh (spawned) Python process, so
    that process-wide state -- torch threads, oneDNN caches, the allocator,
    registries -- does not carry over from one measurement to the next."""
    import multiprocessing as mp
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_profile_in_child, args=(cfg, kwargs, queue))
    proc.start()
    status, payload = queue.get()
    proc.join()
    if status != 'ok':
        raise RuntimeError(f'profiling failed in the child process: '
                           f'{payload}')
    return payload


def compare_training_speed(configs: Dict[str, Config],
                           rounds: int = 3,
                           iters: int = 50,
                           warmup: int = 10) -> dict:
    """Training speed of several configs measured side by side.

    Each round profiles every config once, each in a fresh process, in
    the given order; rounds repeat that, so slow phases of a shared
    machine spread over all configs. A config's speed is the median over
    rounds of its median-iteration images/s; ratios are to the first
    config.

    Args:
        configs (dict[str, Config]): Name -> config, the reference first.
        rounds (int): Rounds. Defaults to 3.
        iters (int): Timed iterations per run. Defaults to 50.
        warmup (int): Untimed iterations first. Defaults to 10.

    Returns:
        dict: name -> ``images_per_s`` (median over rounds),
        ``rounds`` (each round's median-iteration images/s),
        ``mean_images_per_s`` (each round's images/s over all its
        iterations), ``ratio`` (to the first config) and ``phases`` (of
        the last round).
    """
    if not configs:
        raise ValueError('compare_training_speed needs at least one config')
    if rounds < 1:
        raise ValueError(f'rounds must be >= 1, got {rounds}')
    results = {name: dict(rounds=[], mean_images_per_s=[])
               for name in configs}
    for _ in range(rounds):
        for name, cfg in configs.items():
            r = profile_in_subprocess(
                cfg, iters=iters, warmup=warmup, op_iters=0)
            results[name]['rounds'].append(r['median_images_per_s'])
            results[name]['mean_images_per_s'].append(r['images_per_s'])
            results[name]['phases'] = r['phases']
    reference = None
    for name, res in results.items():
        res['images_per_s'] = statistics.median(res['rounds'])
        reference = reference or res['images_per_s']
        res['ratio'] = res['images_per_s'] / reference
    return results
