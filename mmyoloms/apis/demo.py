"""The offline demo behind ``make demo``: data, training, COCO AP, pictures.

:func:`run_demo`

1. writes the shapes dataset unless a complete one made with the same
   arguments is there;
2. plans the training schedule: either a fixed number of epochs, or as
   many epochs as fit a time budget -- it times a few training iterations
   and a validation pass of the config on this machine, and rescales the
   warm-up + cosine schedule and the validation points to the number of
   epochs that fits (:func:`mmyoloms.engine.rescale_schedule`);
3. trains with MMEngine's runner (seeded), resuming from the work dir's
   last checkpoint if an earlier run was interrupted (with the plan it
   made then);
4. evaluates the best checkpoint (by val bbox mAP) on the val set with
   mmdet's ``CocoMetric``;
5. chooses the score threshold that maximises F1 on val and draws ground
   truth beside the predictions of the first val images;
6. leaves in the work dir: ``best_coco_bbox_mAP_epoch_*.pth``,
   ``val_predictions.png``, ``curves.png``, ``demo_plan.json`` and
   ``demo_results.json`` (figures, threshold, timings).
"""
import copy
import datetime
import glob
import json
import math
import os
import os.path as osp
import time
from typing import Callable, Dict, Optional

from mmengine.config import Config

from ..utils import COCO_BBOX_METRICS, load_config

PLAN_FILE = 'demo_plan.json'
# The timing run measures steady-state iterations; whole epochs and
# validations also pay for their start (loader workers, first batches),
# logging and checkpoints: in a measured 14-epoch demo they took 6-10 %
# (epochs) and ~25 % (validations) longer than the timing predicted. The
# plan counts that much more time for each.
EPOCH_MARGIN = 1.1
VAL_MARGIN = 1.3
RESULTS_FILE = 'demo_results.json'


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every dataloader and evaluator of ``cfg`` at ``data_root``."""
    data_root = data_root.rstrip('/') + '/'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = data_root
    for name in ('val_evaluator', 'test_evaluator'):
        loader = cfg[name.replace('evaluator', 'dataloader')]
        cfg[name].ann_file = osp.join(data_root, loader.dataset.ann_file)


def format_ap_table(metrics: dict) -> str:
    """A Markdown table of the six COCO bbox figures in ``metrics``."""
    head = '| ' + ' | '.join(name for name, _ in COCO_BBOX_METRICS) + ' |'
    rule = '|' + '|'.join('------' for _ in COCO_BBOX_METRICS) + '|'
    row = '| ' + ' | '.join(f'{metrics[key]:.3f}'
                            for _, key in COCO_BBOX_METRICS) + ' |'
    return '\n'.join([head, rule, row])


def find_best_checkpoint(work_dir: str) -> str:
    """The newest ``best_coco_bbox_mAP_epoch_*.pth`` of ``work_dir``."""
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


def _timing(cfg: Config, iters: int, val_images: int,
            iters_per_epoch: int) -> dict:
    """Seconds per training iteration (median of ``iters`` after 3
    warm-up ones, fewer on a small dataset) and per val image of ``cfg``
    on this machine."""
    from ..engine import profile_training
    warmup = min(3, iters_per_epoch // 3)
    iters = max(1, min(iters, iters_per_epoch - warmup))
    result = profile_training(
        cfg, iters=iters, warmup=warmup, op_iters=0, val_images=val_images)
    return dict(
        seconds_per_iter=result['phases']['iteration'],
        val_seconds_per_image=result['val_seconds_per_image'])


def _write_json(path: str, data: dict) -> None:
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)


def _draw_val_predictions(cfg: Config, results_file: str, out_file: str,
                          num_images: int, score_thr: float) -> None:
    """Ground truth beside the predictions of ``results_file`` (COCO
    results JSON of the val set) on the first val images."""
    import mmcv
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from ..visualization import save_prediction_grid
    dataset = cfg.val_dataloader.dataset
    ann_file = osp.join(dataset.data_root, dataset.ann_file)
    with open(ann_file) as f:
        coco = json.load(f)
    with open(results_file) as f:
        results = json.load(f)
    cat_ids = [c['id'] for c in coco['categories']]
    label_of = {cat: i for i, cat in enumerate(cat_ids)}

    def instances(records, with_scores):
        boxes = [[x, y, x + w, y + h] for x, y, w, h in
                 (r['bbox'] for r in records)]
        data = dict(
            bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            labels=torch.tensor([label_of[r['category_id']]
                                 for r in records], dtype=torch.long))
        if with_scores:
            data['scores'] = torch.tensor([r['score'] for r in records],
                                          dtype=torch.float32)
        return InstanceData(**data)

    img_dir = osp.join(dataset.data_root, dataset.data_prefix.img)
    images, samples = [], []
    for info in coco['images'][:num_images]:
        image = mmcv.imread(osp.join(img_dir, info['file_name']))
        images.append(mmcv.bgr2rgb(image))
        sample = DetDataSample()
        sample.gt_instances = instances(
            [a for a in coco['annotations'] if a['image_id'] == info['id']],
            False)
        sample.pred_instances = instances(
            [r for r in results if r['image_id'] == info['id']], True)
        samples.append(sample)
    meta = dict(classes=[c['name'] for c in coco['categories']],
                palette=cfg.get('metainfo', {}).get('palette')
                or dataset.get('metainfo', {}).get('palette', 'random'))
    save_prediction_grid(images, samples, meta, out_file,
                         score_thr=score_thr, ncols=3, tile_size=256,
                         draw_gt=True)


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
             log: Callable[[str], None] = print) -> dict:
    """Train and evaluate ``config`` on the shapes dataset (``make demo``).

    Args:
        config (str): The training config (a shapes config).
        work_dir (str): Where checkpoints, logs, pictures and results go;
            a work dir holding an interrupted run resumes it. Defaults to
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

    Returns:
        dict: What ``demo_results.json`` holds.
    """
    from mmengine.runner import Runner

    from ..datasets import generate_shapes_dataset
    from ..visualization import f1_score_threshold, plot_training_curves
    if epochs is None and (minutes is None or minutes <= 0):
        raise ValueError(f'give epochs or a positive time budget in '
                         f'minutes; got epochs={epochs}, minutes={minutes}')
    if epochs is not None and (isinstance(epochs, bool)
                               or not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f'epochs must be an int >= 1, got {epochs!r}')
    # perf_counter() clock; time.time() only to place start_time on it
    start = time.perf_counter() - (
        time.time() - start_time if start_time is not None else 0.)
    deadline = start + minutes * 60 if epochs is None else None
    data_start = time.perf_counter()
    generate_shapes_dataset(
        data_root, num_train=num_train, num_val=num_val,
        reuse_existing=True)
    data_seconds = time.perf_counter() - data_start
    log(f'[demo] dataset ready in {data_root} ({data_seconds:.1f} s)')

    cfg = load_config(config)
    set_data_root(cfg, data_root)
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir
    os.makedirs(work_dir, exist_ok=True)
    plan_file = osp.join(work_dir, PLAN_FILE)
    wanted = dict(config=config, seed=seed, data_root=data_root)
    resuming = osp.isfile(osp.join(work_dir, 'last_checkpoint'))
    if resuming and osp.isfile(plan_file):
        with open(plan_file) as f:
            plan = json.load(f)
        if epochs is not None:
            wanted['epochs'] = epochs
        differs = {k: (plan.get(k), v) for k, v in wanted.items()
                   if plan.get(k) != v}
        if differs:
            raise ValueError(
                f'{work_dir} holds an interrupted run planned with other '
                f'settings ({differs}, as (planned, now)); resume it with '
                'the same settings, or use another work dir')
        log(f"[demo] resuming the run of {work_dir}: {plan['epochs']} "
            f"epochs, validation every {plan['val_interval']}")
    else:
        if resuming:
            raise FileNotFoundError(
                f'{work_dir} holds a checkpoint but no {PLAN_FILE}: not a '
                'demo run; use another work dir')
        plan = dict(wanted)
        if epochs is not None:
            plan.update(epochs=epochs,
                        val_interval=max(1, math.ceil(epochs / 5)))
        else:
            plan.update(_plan_budget(cfg, deadline, num_val, log))
        _write_json(plan_file, plan)
    cfg = _schedule(cfg, plan['epochs'], plan['val_interval'])
    iters_per_epoch = math.ceil(
        num_train / cfg.train_dataloader.batch_size)  # upper bound
    cfg.resume = True  # continue an interrupted run (no-op when fresh)
    cfg.load_from = None
    ends = ''
    if deadline is not None:
        end = datetime.datetime.now() + datetime.timedelta(
            seconds=deadline - time.perf_counter())
        ends = f'; the demo should end by {end:%H:%M:%S}'
    log(f"[demo] training {plan['epochs']} epochs of <= {iters_per_epoch} "
        f"iterations, validating every {plan['val_interval']} epochs{ends}")
    train_start = time.perf_counter()
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    train_seconds = time.perf_counter() - train_start
    del runner

    best = find_best_checkpoint(work_dir)
    test_cfg = copy.deepcopy(cfg)
    test_cfg.resume = False
    test_cfg.load_from = best
    prefix = osp.join(work_dir, 'val_predictions')
    test_cfg.test_evaluator.outfile_prefix = prefix
    metrics = Runner.from_cfg(test_cfg).test()

    ann_file = test_cfg.test_evaluator.ann_file
    threshold = f1_score_threshold(ann_file, prefix + '.bbox.json')
    grid_file = osp.join(work_dir, 'val_predictions.png')
    _draw_val_predictions(cfg, prefix + '.bbox.json', grid_file,
                          grid_images, threshold['threshold'])
    curves_file = osp.join(work_dir, 'curves.png')
    # every start of the training run (it may have been resumed)
    plot_training_curves(
        sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                  'scalars.json'))), curves_file)

    wall = time.perf_counter() - start
    results = dict(
        config=config,
        checkpoint=best,
        seed=seed,
        epochs=plan['epochs'],
        metrics={name: metrics[key]
                 for name, key in COCO_BBOX_METRICS},
        score_threshold={k: threshold[k] for k in
                         ('threshold', 'f1', 'precision', 'recall')},
        dataset_seconds=round(data_seconds, 1),
        train_seconds=round(train_seconds, 1),
        wall_seconds=round(wall, 1),
        budget_minutes=None if epochs is not None else minutes)
    _write_json(osp.join(work_dir, RESULTS_FILE), results)

    log(f'\n[demo] COCO bbox metrics of the best checkpoint on the '
        f'{num_val} val images ({plan["epochs"]} epochs, seed {seed}):\n')
    log(format_ap_table(metrics))
    log(f'\n[demo] best checkpoint: {best}')
    log(f"[demo] predictions:     {grid_file} (ground truth left, "
        f"detections scoring >= {threshold['threshold']:.2f} right: the "
        f"threshold of the best F1 on val, {threshold['f1']:.3f} at IoU "
        f"0.5)")
    log(f'[demo] curves:          {curves_file}')
    log(f'[demo] wall time:       {_clock(wall)} (dataset '
        f'{data_seconds:.0f} s, training {_clock(train_seconds)})' +
        (f', budget {minutes:g} min' if deadline else ''))
    return results


def _plan_budget(cfg: Config, deadline: float, num_val: int,
                 log: Callable[[str], None]) -> dict:
    """The epochs that fit before ``deadline``, from a timing run."""
    timing_start = time.perf_counter()
    val_images = min(num_val, 2 * cfg.val_dataloader.batch_size)
    num_train = len(_train_images(cfg))
    iters_per_epoch = math.ceil(num_train / cfg.train_dataloader.batch_size)
    timing = _timing(cfg, 8, val_images, iters_per_epoch)
    epoch_s = EPOCH_MARGIN * iters_per_epoch * timing['seconds_per_iter']
    val_s = VAL_MARGIN * num_val * timing['val_seconds_per_image']
    # after training: the test pass (one validation) and the pictures, and
    # starting the runner twice
    after_s = val_s + 30.
    budget = deadline - time.perf_counter() - after_s
    plan = plan_epochs(budget, epoch_s, val_s)
    log(f'[demo] timing ({_clock(time.perf_counter() - timing_start)}): '
        f'{timing["seconds_per_iter"]:.2f} s per iteration '
        f'(epoch ~{_clock(epoch_s)}), validation ~{val_s:.0f} s; '
        f'{_clock(max(budget, 0))} left for training: {plan["epochs"]} '
        'epochs')
    return dict(plan, seconds_per_iter=round(timing['seconds_per_iter'], 4),
                val_seconds=round(val_s, 1))


def _train_images(cfg: Config) -> list:
    dataset = cfg.train_dataloader.dataset
    with open(osp.join(dataset.data_root, dataset.ann_file)) as f:
        return json.load(f)['images']
