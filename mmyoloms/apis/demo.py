"""The offline demo behind ``make demo``: data, training, COCO AP, pictures.

:func:`run_demo`

1. writes the shapes dataset unless a complete one made with the same
   arguments is there;
2. plans the training schedule: either a fixed number of epochs, or as
   many epochs as fit a time budget -- it times a few training iterations
   and a validation pass of the config on this machine
   (:func:`measure_speed`), and rescales the warm-up + cosine schedule and
   the validation points to the number of epochs that fits
   (:func:`mmyoloms.engine.rescale_schedule`);
3. trains with MMEngine's runner (seeded);
4. evaluates the best checkpoint (by val bbox mAP) on the val set with
   mmdet's ``CocoMetric``;
5. chooses the score threshold that maximises F1 on val and draws ground
   truth beside the predictions of the first val images, and the training
   curves (:mod:`mmyoloms.visualization`);
6. leaves in the work dir: ``best_coco_bbox_mAP_epoch_*.pth``,
   ``val_predictions.png``, ``curves.png``, ``demo_plan.json`` and
   ``demo_results.json`` (figures, threshold, timings).

A work dir keeps the settings it was planned with (config, seed, data
root, and the epochs or the time budget): run again with them, the demo
continues an interrupted run with its plan, or prints the results of a
finished one without training again; other settings raise
:class:`WorkDirError`. The paths in the two JSON files are relative to the
work dir.
"""
import copy
import datetime
import hashlib
import json
import math
import os
import os.path as osp
import time
from typing import Callable, Dict, Optional

from mmengine.config import Config

from ..utils import (COCO_BBOX_METRICS, format_ap_table, load_config,
                     positive_int)

PLAN_FILE = 'demo_plan.json'
RESULTS_FILE = 'demo_results.json'
# The timing run measures steady-state iterations; whole epochs and
# validations also pay for their start (loader workers, first batches),
# logging and checkpoints: in a measured 14-epoch demo they took 6-10 %
# (epochs) and ~25 % (validations) longer than the timing predicted. The
# plan counts that much more time for each.
EPOCH_MARGIN = 1.1
VAL_MARGIN = 1.3
# Seconds the plan keeps, besides one validation, for what follows
# training: starting the test runner, the F1 threshold and the pictures.
AFTER_TRAINING_S = 30.
# What identifies a demo run: a work dir holding one refuses others.
SETTINGS = ('config', 'seed', 'data_root', 'epochs', 'minutes')


class WorkDirError(ValueError):
    """The work dir holds a run of other settings, or not a demo run."""


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every dataloader and evaluator of ``cfg`` at ``data_root``."""
    data_root = data_root.rstrip('/') + '/'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = data_root
    for name in ('val_evaluator', 'test_evaluator'):
        loader = cfg[name.replace('evaluator', 'dataloader')]
        cfg[name].ann_file = osp.join(data_root, loader.dataset.ann_file)


def find_best_checkpoint(work_dir: str) -> str:
    """The newest ``best_coco_bbox_mAP_epoch_*.pth`` of ``work_dir``."""
    import glob
    found = sorted(
        glob.glob(osp.join(work_dir, 'best_coco_bbox_mAP_epoch_*.pth')),
        key=osp.getmtime)
    if not found:
        raise FileNotFoundError(
            f'no best_coco_bbox_mAP_epoch_*.pth in {work_dir}: the training '
            'run never validated')
    return found[-1]


def _clock(seconds: float) -> str:
    """``seconds`` as ``12 min 05 s``."""
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f'{minutes} min {seconds:02d} s'


def plan_epochs(budget_s: float, epoch_s: float, val_s: float,
                max_validations: int = 5) -> Dict[str, int]:
    """The most epochs, and a validation interval, that fit ``budget_s``.

    Validation runs every ``val_interval`` epochs and after the last one
    (mmengine always validates the last epoch), at most about
    ``max_validations`` times.

    Args:
        budget_s (float): Seconds available for training and validation.
        epoch_s (float): Seconds of one training epoch.
        val_s (float): Seconds of one validation pass.
        max_validations (int): Validations aimed at. Defaults to 5.

    Returns:
        dict: ``epochs`` (at least 1) and ``val_interval``.
    """
    if epoch_s <= 0 or val_s < 0 or max_validations < 1:
        raise ValueError(f'epoch_s must be > 0, val_s >= 0 and '
                         f'max_validations >= 1, got {epoch_s}, {val_s}, '
                         f'{max_validations}')
    epochs = max(1, int(budget_s // epoch_s))
    while epochs > 1:
        interval = max(1, math.ceil(epochs / max_validations))
        validations = epochs // interval + (epochs % interval != 0)
        if epochs * epoch_s + validations * val_s <= budget_s:
            break
        epochs -= 1
    interval = max(1, math.ceil(epochs / max_validations))
    return dict(epochs=epochs, val_interval=interval)


def _schedule(cfg: Config, epochs: int, val_interval: int) -> Config:
    from ..engine import rescale_schedule
    cfg = rescale_schedule(cfg, epochs, val_interval=val_interval)
    # save_best needs a checkpoint at every validation
    cfg.default_hooks.checkpoint.interval = val_interval
    return cfg


def measure_speed(cfg: Config, val_images: int,
                  iters_per_epoch: int) -> Dict[str, float]:
    """Seconds per training iteration and per val image of ``cfg`` on this
    machine: the median of 8 iterations after 3 warm-up ones (fewer on a
    small dataset), and a validation pass over ``val_images`` images.

    Returns:
        dict: ``seconds_per_iter`` and ``val_seconds_per_image``.
    """
    from ..profiling import profile_training
    warmup = min(3, iters_per_epoch // 3)
    iters = max(1, min(8, iters_per_epoch - warmup))
    result = profile_training(
        cfg, iters=iters, warmup=warmup, op_iters=0, val_images=val_images)
    return dict(
        seconds_per_iter=result['phases']['iteration'],
        val_seconds_per_image=result['val_seconds_per_image'])


def _write_json(path: str, data: dict) -> None:
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)


def _relative(path: str, work_dir: str) -> str:
    """``path`` relative to ``work_dir`` (a ``package::path`` config as it
    is): what the JSON files of a work dir hold."""
    if '::' in path:
        return path
    return osp.relpath(osp.abspath(path), osp.abspath(work_dir))


def _describe(key: str, plan: dict) -> str:
    if key not in plan:
        return 'not recorded'
    if key == 'minutes' and plan[key] is None:
        return f"none (--epochs {plan.get('epochs')})"
    return json.dumps(plan[key])


def _check_work_dir(work_dir: str, settings: dict) -> Optional[dict]:
    """The plan of the demo run in ``work_dir`` made with ``settings``, or
    None where the work dir holds no run.

    Raises:
        WorkDirError: The work dir holds a run planned with other settings
            (every difference named), or a checkpoint without a plan.
    """
    plan_file = osp.join(work_dir, PLAN_FILE)
    if not osp.isfile(plan_file):
        if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
            raise WorkDirError(
                f'{work_dir} holds a checkpoint but no {PLAN_FILE}: not a '
                'demo run; give another work dir')
        return None
    with open(plan_file) as f:
        plan = json.load(f)
    # with a time budget the epochs are the plan's, not a setting
    keys = [k for k in SETTINGS
            if k != 'epochs' or settings['epochs'] is not None]
    differs = [k for k in keys if k not in plan or plan[k] != settings[k]]
    if differs:
        lines = '\n'.join(
            f'  {k}: {_describe(k, plan)} there, '
            f'{_describe(k, settings)} now' for k in differs)
        raise WorkDirError(
            f'{work_dir} holds a demo run planned with other settings (paths '
            f'relative to the work dir):\n{lines}\nA work dir keeps the '
            'settings it was planned with: run with them to continue the '
            'run or to see its results, or give another work dir '
            '(--work-dir; WORK_DIR=... for make demo).')
    return plan


def _log_results(results: dict, work_dir: str,
                 log: Callable[[str], None]) -> None:
    """The results summary of a demo run (``demo_results.json``)."""
    images = results.get('val_images')
    log(f"\n[demo] COCO bbox metrics of the best checkpoint on the "
        f"{f'{images} ' if images else ''}val images ({results['epochs']} "
        f"epochs, seed {results['seed']}):\n")
    metrics = {key: results['metrics'][label]
               for label, key in COCO_BBOX_METRICS}
    checkpoint = osp.basename(results['checkpoint'])
    log(format_ap_table([dict(model=checkpoint, metrics=metrics)]))
    threshold = results['score_threshold']
    log(f'\n[demo] best checkpoint: {osp.join(work_dir, checkpoint)}')
    log(f"[demo] predictions:     "
        f"{osp.join(work_dir, 'val_predictions.png')} (ground truth left, "
        f"detections scoring >= {threshold['threshold']:.2f} right: the "
        f"threshold of the best F1 on val, {threshold['f1']:.3f} at IoU "
        f"0.5)")
    log(f"[demo] curves:          {osp.join(work_dir, 'curves.png')}")
    budget = results.get('budget_minutes')
    log(f"[demo] wall time:       {_clock(results['wall_seconds'])} "
        f"(dataset {results['dataset_seconds']:.0f} s, training "
        f"{_clock(results['train_seconds'])})" +
        (f', budget {budget:g} min' if budget else ''))


def run_demo(config: str,
             work_dir: str = 'work_dirs/demo',
             data_root: str = 'data/shapes',
             minutes: Optional[float] = 18.,
             epochs: Optional[int] = None,
             seed: int = 0,
             num_train: int = 1000,
             num_val: int = 200,
             grid_images: int = 12,
             start_time: Optional[float] = None,
             log: Callable[[str], None] = print,
             clock: Callable[[], float] = time.perf_counter,
             measure: Callable[[Config, int, int],
                               Dict[str, float]] = measure_speed) -> dict:
    """Train and evaluate ``config`` on the shapes dataset (``make demo``).

    Args:
        config (str): The training config (a shapes config).
        work_dir (str): Where checkpoints, logs, pictures and results go.
            Run again with the same settings, an interrupted run continues
            and a finished one prints its results; a work dir of other
            settings raises :class:`WorkDirError`. Defaults to
            ``'work_dirs/demo'``.
        data_root (str): The shapes dataset (written if absent). Defaults
            to ``'data/shapes'``.
        minutes (float, optional): Time budget of the whole demo in
            minutes (dataset, training, evaluation, pictures): the number
            of epochs is the most that fits, from a measurement of this
            machine's speed. Ignored when ``epochs`` is given.
            Defaults to 18.
        epochs (int, optional): Train exactly this many epochs (the
            config's schedule rescaled), for reproducible figures.
            Defaults to None.
        seed (int): ``randomness.seed`` of the run. Defaults to 0.
        num_train (int): Training images of the dataset. Defaults to 1000.
        num_val (int): Val images of the dataset. Defaults to 200.
        grid_images (int): Val images in ``val_predictions.png``.
            Defaults to 12.
        start_time (float, optional): ``time.time()`` when the demo
            started (a tool records it before its imports); the time budget
            counts from it. Defaults to now.
        log (callable): Where progress lines go. Defaults to ``print``.
        clock (callable): Seconds of a monotonic clock; the time budget is
            kept on it. Defaults to ``time.perf_counter``.
        measure (callable): ``measure(cfg, val_images, iters_per_epoch)``
            gives ``seconds_per_iter`` and ``val_seconds_per_image`` for
            the time budget's plan. Defaults to :func:`measure_speed` (a
            timing run on this machine).

    Returns:
        dict: What ``demo_results.json`` holds.

    Raises:
        WorkDirError: ``work_dir`` holds a demo run planned with other
            settings, or a checkpoint that is not a demo run's.
    """
    from mmengine.runner import Runner

    from ..datasets import generate_shapes_dataset
    from ..visualization import (f1_score_threshold, plot_training_curves,
                                 run_scalars_files, save_coco_prediction_grid)
    if epochs is None and (minutes is None or minutes <= 0):
        raise ValueError(f'give epochs or a positive time budget in '
                         f'minutes; got epochs={epochs}, minutes={minutes}')
    if epochs is not None:
        positive_int(epochs, 'epochs')
    # time.time() only to place start_time on the clock
    start = clock() - (
        time.time() - start_time if start_time is not None else 0.)
    deadline = start + minutes * 60 if epochs is None else None
    settings = dict(
        config=_relative(config, work_dir), seed=seed,
        data_root=_relative(data_root, work_dir), epochs=epochs,
        minutes=None if epochs is not None else minutes)
    plan = _check_work_dir(work_dir, settings)
    results_file = osp.join(work_dir, RESULTS_FILE)
    if plan is not None and osp.isfile(results_file):
        with open(results_file) as f:
            results = json.load(f)
        log(f'[demo] {work_dir} holds the finished run of these settings; '
            f'its results follow (no training: remove {results_file} to '
            'evaluate it again, or give another work dir for a new run)')
        _log_results(results, work_dir, log)
        return results

    data_start = clock()
    generate_shapes_dataset(
        data_root, num_train=num_train, num_val=num_val,
        reuse_existing=True)
    data_seconds = clock() - data_start
    log(f'[demo] dataset ready in {data_root} ({data_seconds:.1f} s)')

    cfg = load_config(config)
    set_data_root(cfg, data_root)
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir
    os.makedirs(work_dir, exist_ok=True)
    if plan is not None:
        log(f"[demo] continuing the interrupted run of {work_dir}: "
            f"{plan['epochs']} epochs, validation every "
            f"{plan['val_interval']}")
    else:
        plan = {k: settings[k] for k in SETTINGS}
        if epochs is not None:
            plan.update(val_interval=max(1, math.ceil(epochs / 5)))
        else:
            plan.update(
                _plan_budget(cfg, deadline, num_val, clock, measure, log))
        _write_json(osp.join(work_dir, PLAN_FILE), plan)
    cfg = _schedule(cfg, plan['epochs'], plan['val_interval'])
    iters_per_epoch = math.ceil(
        num_train / cfg.train_dataloader.batch_size)  # upper bound
    cfg.resume = True  # continue an interrupted run (no-op when fresh)
    cfg.load_from = None
    # The Runner reuses the global Visualizer instance of the config's
    # visualizer name (mmyolo's runtime names it 'visualizer'), with the
    # log dir of the first run in the process that built it: a second run
    # in one process would log its scalars into the first one's work dir.
    # A name unique to the work dir gives this run its own.
    if cfg.get('visualizer') is not None:
        cfg.visualizer.name = 'demo_' + hashlib.sha1(
            osp.abspath(work_dir).encode()).hexdigest()[:12]
    ends = ''
    if deadline is not None:
        end = datetime.datetime.now() + datetime.timedelta(
            seconds=deadline - clock())
        ends = f'; the demo should end by {end:%H:%M:%S}'
    log(f"[demo] training {plan['epochs']} epochs of <= {iters_per_epoch} "
        f"iterations, validating every {plan['val_interval']} epochs{ends}")
    train_start = clock()
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    train_seconds = clock() - train_start
    del runner

    best = find_best_checkpoint(work_dir)
    test_cfg = copy.deepcopy(cfg)
    test_cfg.resume = False
    test_cfg.load_from = best
    prefix = osp.join(work_dir, 'val_predictions')
    test_cfg.test_evaluator.outfile_prefix = prefix
    metrics = Runner.from_cfg(test_cfg).test()

    threshold = f1_score_threshold(test_cfg.test_evaluator.ann_file,
                                   prefix + '.bbox.json')
    dataset = cfg.val_dataloader.dataset
    save_coco_prediction_grid(
        test_cfg.test_evaluator.ann_file,
        osp.join(dataset.data_root, dataset.data_prefix.img),
        prefix + '.bbox.json', osp.join(work_dir, 'val_predictions.png'),
        num_images=grid_images, score_thr=threshold['threshold'],
        palette=cfg.get('metainfo', {}).get('palette')
        or dataset.get('metainfo', {}).get('palette'))
    # every start of the training run (it may have been resumed)
    plot_training_curves(run_scalars_files(work_dir),
                         osp.join(work_dir, 'curves.png'))

    results = dict(
        config=settings['config'],
        checkpoint=osp.basename(best),
        seed=seed,
        epochs=plan['epochs'],
        val_images=num_val,
        metrics={name: metrics[key]
                 for name, key in COCO_BBOX_METRICS},
        score_threshold={k: threshold[k] for k in
                         ('threshold', 'f1', 'precision', 'recall')},
        dataset_seconds=round(data_seconds, 1),
        train_seconds=round(train_seconds, 1),
        wall_seconds=round(clock() - start, 1),
        budget_minutes=settings['minutes'])
    _write_json(results_file, results)
    _log_results(results, work_dir, log)
    return results


def _plan_budget(cfg: Config, deadline: float, num_val: int,
                 clock: Callable[[], float], measure: Callable,
                 log: Callable[[str], None]) -> dict:
    """The epochs that fit before ``deadline``, from ``measure``'s speed.

    After training come the test pass (one validation), starting the
    runner again and the pictures (:data:`AFTER_TRAINING_S`).
    """
    timing_start = clock()
    val_images = min(num_val, 2 * cfg.val_dataloader.batch_size)
    dataset = cfg.train_dataloader.dataset
    with open(osp.join(dataset.data_root, dataset.ann_file)) as f:
        num_train = len(json.load(f)['images'])
    iters_per_epoch = math.ceil(num_train / cfg.train_dataloader.batch_size)
    speed = measure(cfg, val_images, iters_per_epoch)
    epoch_s = EPOCH_MARGIN * iters_per_epoch * speed['seconds_per_iter']
    val_s = VAL_MARGIN * num_val * speed['val_seconds_per_image']
    budget = deadline - clock() - val_s - AFTER_TRAINING_S
    plan = plan_epochs(budget, epoch_s, val_s)
    log(f'[demo] timing ({_clock(clock() - timing_start)}): '
        f'{speed["seconds_per_iter"]:.2f} s per iteration '
        f'(epoch ~{_clock(epoch_s)}), validation ~{val_s:.0f} s; '
        f'{_clock(max(budget, 0))} left for training: {plan["epochs"]} '
        'epochs')
    return dict(plan, seconds_per_iter=round(speed['seconds_per_iter'], 4),
                val_seconds=round(val_s, 1))
