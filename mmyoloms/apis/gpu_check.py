"""The GPU check: what a maintainer with one NVIDIA GPU runs, offline.

``tools/gpu_check.py`` (``scripts/gpu_check.sh`` installs its wheelhouse
first) runs five steps on the shapes dataset (written offline by
:func:`mmyoloms.datasets.generate_shapes_dataset`) and prints what each
measured; ``<out>/gpu_check.json`` keeps it all:

1. ``env``: versions, the GPU, and mmcv's compiled ops: the CUDA version
   mmcv was built with, and :func:`mmcv_cuda_nms` -- on a GPU, mmcv's
   ``nms`` on CUDA tensors against the same call on the CPU; without one,
   whether the CUDA implementation is registered at all;
2. ``speed``: training images/s of YOLO-MS-XS against RTMDet-tiny with
   AMP (:func:`mmyoloms.apis.runner.enable_amp`), each config in a fresh
   process, in interleaved rounds
   (:func:`mmyoloms.profiling.compare_training_speed`);
3. ``val``: XS trained for a fixed number of iterations with AMP, then
   validated on the GPU (mmyolo's test-time NMS is mmcv's, on CUDA
   tensors), with COCO metrics (:func:`mmyoloms.profiling.profile_training`);
4. ``sweep``: the kernel-protocol sweep ``configs/sweeps/shapes_demo.py``
   over ``seeds`` (8 by default) by :class:`mmyoloms.sweep.Sweeper`, with
   the epochs planned to fit a time budget (:func:`plan_sweep_epochs`), and
   its verdicts;
5. ``onnx``: the reference run's trained checkpoint exported with NMS
   (:mod:`mmyoloms.deploy`) and evaluated on onnxruntime's CUDA provider
   where onnxruntime has one (the ``onnxruntime-gpu`` package), else on
   its CPU provider, saying so.

``dry_run`` runs every step on the CPU with tiny counts (a 16-image
dataset, one iteration, two seeds of two sweep runs): the plumbing,
not the figures.
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import platform
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

from .demo import EPOCH_MARGIN

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
XS_CONFIG = 'configs/shapes/yoloms-xs_fast_1xb8-10e_shapes.py'
RTMDET_CONFIG = 'configs/shapes/rtmdet-tiny_fast_1xb8-10e_shapes.py'
SWEEP_FILE = 'configs/sweeps/shapes_demo.py'
STEPS = ('env', 'speed', 'val', 'sweep', 'onnx')
RESULT_FILE = 'gpu_check.json'
CUDA_PROVIDER = 'CUDAExecutionProvider'
CPU_PROVIDER = 'CPUExecutionProvider'

# mmcv's dispatcher, for a device without a registered implementation:
# "nms_impl: implementation for device cuda:0 not found."
_NOT_REGISTERED = 'implementation for device'


class GPUCheckError(RuntimeError):
    """The machine cannot run the check as asked (no GPU, CPU-only mmcv)."""


# ----------------------------------------------------------------- arguments
def _number(value: str, kind: type, low: float, strict: bool):
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or number < low or (strict and number == low):
        bound = f"{'>' if strict else '>='} {low:g}"
        raise argparse.ArgumentTypeError(
            f'must be {"an integer" if kind is int else "a number"} '
            f'{bound}, got {value!r}')
    return number


def _positive(value: str) -> int:
    return _number(value, int, 1, strict=False)


def _non_negative(value: str) -> int:
    return _number(value, int, 0, strict=False)


def _positive_float(value: str) -> float:
    return _number(value, float, 0, strict=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='tools/gpu_check.py',
        description='Train, validate, sweep and export on one NVIDIA GPU, '
        'offline, and print what was measured (docs/gpu.md).')
    parser.add_argument('--out', default='work_dirs/gpu_check',
                        help='output folder (gpu_check.json, the sweep, '
                        'the ONNX file)')
    parser.add_argument('--data-root', default='data/shapes',
                        help='the shapes dataset (written if absent)')
    parser.add_argument('--device', choices=('cuda', 'cpu'), default='cuda',
                        help='cpu: every step on the CPU (no AMP, no CUDA '
                        'provider), e.g. to check the plumbing')
    parser.add_argument('--dry-run', action='store_true',
                        help='every step on the CPU with tiny counts '
                        '(a 16-image dataset in OUT/data, one iteration, '
                        '2 seeds of 2 sweep runs): the plumbing only')
    parser.add_argument('--steps', nargs='+', choices=STEPS,
                        default=list(STEPS), help='steps to run, in order')
    parser.add_argument('--batch-size', type=_positive, default=32,
                        help='training batch of the speed and val steps')
    parser.add_argument('--workers', type=_non_negative, default=8,
                        help='data loader workers')
    parser.add_argument('--speed-iters', type=_positive, default=20,
                        help='timed training iterations per config and '
                        'round')
    # profile_training times an iteration from the end of the one before:
    # the first is never timed
    parser.add_argument('--speed-warmup', type=_positive, default=5,
                        help='untimed iterations first (>= 1)')
    parser.add_argument('--speed-rounds', type=_positive, default=3,
                        help='interleaved rounds of XS and RTMDet-tiny')
    parser.add_argument('--val-iters', type=_positive, default=25,
                        help='training iterations of XS before the '
                        'validation step (>= 2: the first is not timed)')
    parser.add_argument('--val-images', type=_positive, default=200,
                        help='val images of the validation step')
    parser.add_argument('--seeds', type=_positive, default=8,
                        help='sweep seeds per config (0..N-1); at least 2 '
                        'for a verdict')
    parser.add_argument('--sweep-minutes', type=_positive_float,
                        default=10., help='time budget of the sweep')
    parser.add_argument('--sweep-epochs', type=_positive,
                        help='train every sweep run this many epochs '
                        'instead of planning them from --sweep-minutes')
    parser.add_argument('--onnx-images', type=_positive, default=200,
                        help='test images evaluated on onnxruntime')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse and check the arguments; ``--dry-run`` sets its tiny counts
    (and the CPU) over whatever else was given."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.val_iters < 2:
        parser.error(f'--val-iters must be >= 2 (the first iteration is '
                     f'not timed), got {args.val_iters}')
    if args.seeds < 2:
        parser.error(f'--seeds must be >= 2 (a verdict compares the spread '
                     f'of seeds), got {args.seeds}')
    if args.dry_run:
        args.device = 'cpu'
        args.batch_size = 2
        args.workers = 0
        args.speed_iters = args.speed_rounds = args.speed_warmup = 1
        args.val_iters = 2
        args.val_images = args.onnx_images = 4
        args.seeds = 2
        args.sweep_epochs = 1
        args.data_root = osp.join(args.out, 'data')
    return args


# -------------------------------------------------------------- environment
def mmcv_cuda_nms(device: str) -> Dict:
    """Whether mmcv's compiled ``nms`` has a CUDA implementation.

    On a GPU (``device='cuda'``) it runs ``mmcv.ops.nms`` and
    ``batched_nms`` on the same random boxes on the GPU and the CPU and
    compares the kept indices. Without one it calls the compiled op with
    CUDA tensors that hold no memory (``FakeTensorMode``): mmcv's
    dispatcher then either finds no CUDA implementation ("implementation
    for device cuda:0 not found", a CPU-only build) or calls it, which
    fails further in, for want of a GPU.

    Returns:
        dict: ``compiled_cuda`` (``get_compiling_cuda_version()``: the CUDA
        version mmcv was built with, ``'not available'`` for a CPU build),
        ``registered`` (bool), ``how`` (what was done) and, on a GPU,
        ``same_as_cpu`` (bool) and ``kept`` (boxes kept).
    """
    import torch
    from mmcv.utils import ext_loader
    ext = ext_loader.load_ext('_ext', ['nms', 'get_compiling_cuda_version'])
    info = dict(compiled_cuda=ext.get_compiling_cuda_version())
    if device == 'cuda':
        from mmcv.ops import batched_nms, nms
        gen = torch.Generator().manual_seed(0)
        xy = torch.rand(2000, 2, generator=gen) * 600
        wh = torch.rand(2000, 2, generator=gen) * 100 + 4
        boxes = torch.cat([xy, xy + wh], 1)
        scores = torch.rand(2000, generator=gen)
        labels = torch.randint(0, 5, (2000, ), generator=gen)
        _, keep_cpu = nms(boxes, scores, 0.5)
        _, keep_gpu = nms(boxes.cuda(), scores.cuda(), 0.5)
        _, bkeep_cpu = batched_nms(boxes, scores, labels,
                                   dict(iou_threshold=0.6))
        _, bkeep_gpu = batched_nms(boxes.cuda(), scores.cuda(),
                                   labels.cuda(), dict(iou_threshold=0.6))
        same = (torch.equal(keep_cpu, keep_gpu.cpu())
                and torch.equal(bkeep_cpu, bkeep_gpu.cpu()))
        info.update(registered=True, same_as_cpu=same,
                    kept=int(keep_gpu.numel()),
                    how='nms and batched_nms of 2000 random boxes on the '
                    'GPU against the CPU')
        return info
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode(allow_non_fake_inputs=True):
        boxes = torch.empty(8, 4, device='cuda')
        scores = torch.empty(8, device='cuda')
    try:
        ext.nms(boxes, scores, iou_threshold=0.5, offset=0)
        message = 'returned'
    except Exception as err:  # the message tells which
        message = f'{type(err).__name__}: {err}'.splitlines()[0]
    info.update(registered=_NOT_REGISTERED not in message,
                how='the compiled nms called with fake CUDA tensors (no '
                f'GPU here): {message}')
    return info


def check_environment(device: str, log: Callable[[str], None]) -> Dict:
    """Versions, the GPU and mmcv's CUDA NMS (see :func:`mmcv_cuda_nms`).

    Raises:
        GPUCheckError: ``device='cuda'`` without a visible GPU, or with an
            mmcv built without CUDA ops, or a CUDA NMS that disagrees with
            the CPU's.
    """
    import mmcv
    import mmdet
    import mmengine
    import mmyolo
    import torch

    import mmyoloms
    info = dict(python=platform.python_version(), torch=torch.__version__,
                torch_cuda=torch.version.cuda, mmengine=mmengine.__version__,
                mmcv=mmcv.__version__, mmdet=mmdet.__version__,
                mmyolo=mmyolo.__version__, mmyoloms=mmyoloms.__version__,
                device=device)
    if device == 'cuda':
        if not torch.cuda.is_available():
            raise GPUCheckError(
                f'--device cuda, but torch {torch.__version__} sees no GPU '
                f'(torch.version.cuda={torch.version.cuda}); run with '
                '--dry-run (or --device cpu) on a machine without one')
        info['gpu'] = torch.cuda.get_device_name(0)
        info['capability'] = '.'.join(
            map(str, torch.cuda.get_device_capability(0)))
    info['mmcv_nms'] = mmcv_cuda_nms(device)
    nms = info['mmcv_nms']
    log(f"[env] python {info['python']}, torch {info['torch']} (CUDA "
        f"{info['torch_cuda']}), mmengine {info['mmengine']}, mmcv "
        f"{info['mmcv']}, mmdet {info['mmdet']}, mmyolo {info['mmyolo']}")
    if 'gpu' in info:
        log(f"[env] GPU: {info['gpu']} (sm_{info['capability']})")
    log(f"[env] mmcv compiled with CUDA {nms['compiled_cuda']}; CUDA nms "
        f"{'registered' if nms['registered'] else 'NOT registered'} "
        f"({nms['how']})" +
        (f"; GPU result {'equals' if nms['same_as_cpu'] else 'DIFFERS FROM'}"
         f" the CPU's ({nms['kept']} boxes kept)"
         if 'same_as_cpu' in nms else ''))
    if device == 'cuda' and not (nms['registered'] and nms['same_as_cpu']):
        raise GPUCheckError(
            'mmcv has no working CUDA nms: install the mmcv wheel built '
            'with FORCE_CUDA=1 (docs/gpu.md)')
    return info


# ------------------------------------------------------------------ configs
def train_config(config: str, args: argparse.Namespace):
    """A shapes config as the speed and val steps train it: the data root,
    batch and workers of ``args``, AMP on the GPU."""
    from ..utils import load_config
    from .demo import set_data_root
    from .runner import enable_amp
    cfg = load_config(osp.join(REPO_ROOT, config))
    set_data_root(cfg, args.data_root)
    for name in ('train_dataloader', 'val_dataloader'):
        loader = cfg[name]
        loader.num_workers = args.workers
        loader.persistent_workers = args.workers > 0
    cfg.train_dataloader.batch_size = args.batch_size
    if args.device == 'cuda':
        cfg = enable_amp(cfg)
    return cfg


def sweep_options(args: argparse.Namespace) -> Dict:
    """``cfg_options`` of every sweep run: data root, workers, AMP on the
    GPU; in a dry run, 2 training and ``val_images`` test images."""
    root = args.data_root.rstrip('/') + '/'
    options = {
        'train_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'test_evaluator.ann_file': root + 'annotations/instances_val.json',
        'train_dataloader.num_workers': args.workers,
        'train_dataloader.persistent_workers': args.workers > 0,
        'test_dataloader.num_workers': args.workers,
        'test_dataloader.persistent_workers': args.workers > 0,
    }
    if args.device == 'cuda':
        options.update({
            'optim_wrapper.type': 'AmpOptimWrapper',
            'optim_wrapper.loss_scale': 'dynamic',
        })
    if args.dry_run:
        options.update({
            'train_dataloader.dataset.indices': 2,
            'train_dataloader.batch_size': 2,
            'test_dataloader.dataset.indices': args.val_images,
        })
    return options


# -------------------------------------------------------------------- steps
def check_speed(args: argparse.Namespace, log: Callable[[str], None]) -> Dict:
    """Training images/s of XS and RTMDet-tiny, same GPU, same run."""
    from ..profiling import compare_training_speed, format_training_comparison
    configs = {'yoloms-xs': train_config(XS_CONFIG, args),
               'rtmdet-tiny': train_config(RTMDET_CONFIG, args)}
    log(f'[speed] {args.speed_rounds} rounds x {args.speed_warmup} + '
        f'{args.speed_iters} iterations of batch {args.batch_size} per '
        f"config{', AMP' if args.device == 'cuda' else ''}")
    result = compare_training_speed(
        configs, rounds=args.speed_rounds, iters=args.speed_iters,
        warmup=args.speed_warmup)
    log(format_training_comparison(result))
    xs, tiny = result['yoloms-xs'], result['rtmdet-tiny']
    log(f"[speed] YOLO-MS-XS {xs['images_per_s']:.1f} images/s, "
        f"RTMDet-tiny {tiny['images_per_s']:.1f} images/s: XS at "
        f"{xs['images_per_s'] / tiny['images_per_s']:.2f}x RTMDet-tiny")
    return {name: {k: res[k] for k in ('images_per_s', 'rounds', 'ratio')}
            for name, res in result.items()}


def check_validation(args: argparse.Namespace,
                     log: Callable[[str], None]) -> Dict:
    """XS trained ``val_iters`` iterations (AMP), then validated."""
    from ..profiling import profile_training
    cfg = train_config(XS_CONFIG, args)
    warmup = max(1, min(args.speed_warmup, args.val_iters - 1))
    result = profile_training(
        cfg, iters=args.val_iters - warmup, warmup=warmup, op_iters=0,
        val_images=args.val_images)
    metrics = {k: float(v) for k, v in result['val_metrics'].items()}
    log(f"[val] XS: {args.val_iters} training iterations "
        f"({result['images_per_s']:.1f} images/s), then validation of "
        f"{args.val_images} images at "
        f"{1 / result['val_seconds_per_image']:.1f} images/s: bbox mAP "
        f"{metrics.get('coco/bbox_mAP', float('nan')):.3f} (a few "
        'iterations from scratch: near 0 is expected; the step checks '
        'that training and NMS run, not accuracy)')
    return dict(images_per_s=result['images_per_s'],
                val_images_per_s=1 / result['val_seconds_per_image'],
                metrics=metrics)


def plan_sweep_epochs(budget_s: float, trainings: int, overhead_s: float,
                      epoch_s: float) -> Dict:
    """Epochs of every sweep training so that ``trainings`` of them fit
    ``budget_s``: each costs ``overhead_s`` (process start, model and
    loaders, the test pass, checkpoints: measured by a one-epoch pilot
    of two iterations) plus its epochs at ``epoch_s`` each, counted
    :data:`mmyoloms.apis.demo.EPOCH_MARGIN` times (whole epochs pay for
    their start and hooks beyond steady-state iterations).

    Returns:
        dict: ``epochs`` (at least 1), ``per_training_s`` (the budget's
        share of one training) and ``fits`` (False when even one epoch
        exceeds it).
    """
    if budget_s <= 0 or trainings < 1 or overhead_s < 0 or epoch_s <= 0:
        raise ValueError(
            f'budget_s > 0, trainings >= 1, overhead_s >= 0 and epoch_s > 0 '
            f'needed, got {budget_s}, {trainings}, {overhead_s}, {epoch_s}')
    share = budget_s / trainings
    epochs = math.floor((share - overhead_s) / (epoch_s * EPOCH_MARGIN))
    return dict(epochs=max(1, epochs), per_training_s=share,
                fits=epochs >= 1)


def _sweep_runs(args: argparse.Namespace):
    from ..sweep import collect_runs
    runs = collect_runs([osp.join(REPO_ROOT, SWEEP_FILE)])
    # a dry run: the reference and one other run, enough for a verdict
    return runs[:2] if args.dry_run else runs


def _plan(args: argparse.Namespace, runs, options: Dict,
          log: Callable[[str], None]) -> Dict:
    """Measure the pilot and the speed of the sweep's reference run."""
    from mmengine.runner import Runner

    from ..profiling import profile_training
    from ..sweep import Sweeper
    pilot = dict(options, **{
        'train_dataloader.dataset.indices':
        2 * runs[0].build_config(options).train_dataloader.batch_size
    })
    log('[sweep] pilot: one training of 2 iterations with the full test '
        'pass, for the fixed cost of a training')
    (record, ) = Sweeper(runs[:1], osp.join(args.out, 'sweep_pilot'),
                         seeds=[0], epochs=1, cfg_options=pilot,
                         latency=False).run()
    if record['status'] != 'ok':
        raise GPUCheckError(f"the sweep's pilot run failed: "
                            f"{record.get('error')}")
    cfg = runs[0].build_config(options, epochs=1, seed=0)
    speed = profile_training(cfg, iters=20, warmup=5, op_iters=0)
    iters = len(Runner.build_dataloader(copy.deepcopy(cfg.train_dataloader)))
    epoch_s = speed['phases']['iteration'] * iters
    trainings = len(runs) * args.seeds
    plan = plan_sweep_epochs(args.sweep_minutes * 60, trainings,
                             record['train_s'], epoch_s)
    log(f"[sweep] plan: {trainings} trainings in {args.sweep_minutes:g} min "
        f"= {plan['per_training_s']:.1f} s each; fixed cost "
        f"{record['train_s']:.1f} s (pilot), one epoch of {iters} "
        f"iterations {epoch_s:.1f} s (x{EPOCH_MARGIN} margin) -> "
        f"{plan['epochs']} epochs" +
        ('' if plan['fits'] else ' (even one epoch exceeds the budget)'))
    return dict(plan, overhead_s=record['train_s'], epoch_s=epoch_s,
                iters_per_epoch=iters)


def check_sweep(args: argparse.Namespace,
                log: Callable[[str], None]) -> Dict:
    """The kernel-protocol sweep over ``args.seeds`` seeds and its
    verdicts (AP of each run against the reference 3-5-7-9)."""
    from ..sweep import Sweeper
    from ..sweep.report import compare_runs
    runs = _sweep_runs(args)
    options = sweep_options(args)
    info: Dict = {}
    if args.sweep_epochs is None:
        info['plan'] = _plan(args, runs, options, log)
        epochs = info['plan']['epochs']
    else:
        epochs = args.sweep_epochs
    seeds = list(range(args.seeds))
    out = osp.join(args.out, 'sweep')
    log(f"[sweep] {', '.join(r.name for r in runs)} x seeds {seeds}, "
        f'{epochs} epochs each -> {out}')
    start = time.perf_counter()
    records = Sweeper(runs, out, seeds=seeds, epochs=epochs,
                      cfg_options=options, latency=False,
                      title='GPU check: kernel protocols').run()
    wall = time.perf_counter() - start
    failed = [f"{r['name']} seed {r['seed']}: {r.get('error')}"
              for r in records if r['status'] != 'ok']
    if failed:
        raise GPUCheckError('sweep trainings failed:\n  ' +
                            '\n  '.join(failed))
    names = [r.name for r in runs]
    rows = [row for row in compare_runs(records, names, names[0])
            if row['metric'] == 'AP']
    for row in rows:
        if row['verdict'] == 'reference':
            continue
        log(f"[sweep] {row['name']} vs {names[0]}: AP "
            f"{_signed(row['diff'])} [{_signed(row['ci95_low'])}, "
            f"{_signed(row['ci95_high'])}] over {row['n']} + "
            f"{row['n_ref']} seeds: {row['verdict']}")
    log(f'[sweep] {len(records)} trainings in {wall:.0f} s (budget '
        f'{args.sweep_minutes * 60:.0f} s'
        f"{'' if args.sweep_epochs is None else ', epochs given'}); "
        f"tables in {osp.join(out, 'results.md')}")
    reference = next(r for r in records
                     if r['name'] == names[0] and r['seed'] == seeds[0])
    info.update(epochs=epochs, seeds=seeds, wall_s=wall,
                verdicts=[{k: row.get(k) for k in (
                    'name', 'diff', 'ci95_low', 'ci95_high', 'verdict')}
                          for row in rows],
                reference_config=osp.join(out, names[0], f'seed{seeds[0]}',
                                          'config.py'),
                reference_checkpoint=reference['checkpoint'],
                reference_AP=reference['AP'])
    return info


def _signed(value: Optional[float]) -> str:
    # no interval where both runs have no spread (e.g. AP 0 on every seed)
    return 'n/a' if value is None else f'{value:+.4f}'


def check_onnx(args: argparse.Namespace, sweep: Dict,
               log: Callable[[str], None]) -> Dict:
    """Export the sweep's reference checkpoint with NMS; evaluate it on
    onnxruntime's CUDA provider where there is one."""
    import onnxruntime as ort

    from ..deploy import (End2EndDetector, ORTDetector, build_detector,
                          deploy_model, export_onnx, nms_settings)
    from ..deploy.evaluate import config_shape, evaluate
    from ..utils import load_config
    cfg = load_config(sweep['reference_config'])
    cfg.test_dataloader.dataset.indices = args.onnx_images
    shape = config_shape(cfg)
    model = build_detector(cfg, sweep['reference_checkpoint'])
    onnx_file = osp.join(args.out, 'yoloms-xs-k3579.onnx')
    export_onnx(End2EndDetector(deploy_model(model, channels_last=False),
                                **nms_settings(model.bbox_head.test_cfg)),
                onnx_file, shape)
    available = ort.get_available_providers()
    if args.device == 'cuda' and CUDA_PROVIDER in available:
        providers = (CUDA_PROVIDER, CPU_PROVIDER)
    else:
        providers = (CPU_PROVIDER, )
        log(f'[onnx] onnxruntime {ort.__version__} has no CUDA provider '
            f'here ({available}): the CPU provider runs it'
            if args.device == 'cuda' else
            '[onnx] --device cpu: the CPU provider runs it')
    detector = ORTDetector(onnx_file, cfg, providers=providers)
    used = detector.session.get_providers()[0]
    start = time.perf_counter()
    metrics = evaluate(detector, cfg, shape, split='test',
                       log=lambda msg: None)
    seconds = time.perf_counter() - start
    metrics = {k: float(v) for k, v in metrics.items()}
    log(f"[onnx] {onnx_file} ({shape[0]}x{shape[1]}, NMS inside) on "
        f"{used}: bbox mAP {metrics['coco/bbox_mAP']:.3f} on "
        f"{args.onnx_images} test images ({args.onnx_images / seconds:.1f} "
        f"images/s with pre/post-processing); PyTorch AP of the same "
        f"checkpoint in the sweep: {sweep['reference_AP']:.3f}")
    return dict(file=onnx_file, provider=used, metrics=metrics,
                images_per_s=args.onnx_images / seconds,
                pytorch_AP=sweep['reference_AP'])


# ---------------------------------------------------------------------- all
def run_gpu_check(args: argparse.Namespace,
                  log: Callable[[str], None] = print) -> Dict:
    """Run ``args.steps`` in order; write ``<out>/gpu_check.json``.

    Returns:
        dict: step -> what it measured, and ``seconds`` per step.

    Raises:
        GPUCheckError: See :func:`check_environment`; the ``onnx`` step
            without the ``sweep`` step (it exports the sweep's checkpoint).
    """
    from ..datasets import generate_shapes_dataset
    if 'onnx' in args.steps and 'sweep' not in args.steps:
        raise GPUCheckError('the onnx step exports the checkpoint the sweep '
                            'step trains: give --steps ... sweep onnx')
    if args.device == 'cpu':
        # the sweep's and speed step's subprocesses inherit it
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    os.makedirs(args.out, exist_ok=True)
    result: Dict = dict(args=vars(args), seconds={})
    started = time.perf_counter()
    if args.dry_run:
        generate_shapes_dataset(args.data_root, num_train=16, num_val=8,
                                img_size_range=(64, 128), max_objects=3,
                                reuse_existing=True, progress=False)
        log(f'[gpu_check] dry run on the CPU: tiny counts, a 16-image '
            f'dataset in {args.data_root}; figures mean nothing')
    else:
        generate_shapes_dataset(args.data_root, reuse_existing=True)
    for step in args.steps:
        start = time.perf_counter()
        if step == 'env':
            result['env'] = check_environment(args.device, log)
        elif step == 'speed':
            result['speed'] = check_speed(args, log)
        elif step == 'val':
            result['val'] = check_validation(args, log)
        elif step == 'sweep':
            result['sweep'] = check_sweep(args, log)
        else:
            result['onnx'] = check_onnx(args, result['sweep'], log)
        result['seconds'][step] = time.perf_counter() - start
        _write(osp.join(args.out, RESULT_FILE), result)
    total = time.perf_counter() - started
    result['seconds']['total'] = total
    _write(osp.join(args.out, RESULT_FILE), result)
    log('[gpu_check] ' + ', '.join(
        f'{k} {v:.0f} s' for k, v in result['seconds'].items()) +
        f"; results in {osp.join(args.out, RESULT_FILE)}")
    return result


def _write(path: str, data: Dict) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1, default=float)
    os.replace(tmp, path)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        run_gpu_check(args)
    except GPUCheckError as err:
        print(f'[gpu_check] error: {err}', file=sys.stderr)
        return 2
    return 0
