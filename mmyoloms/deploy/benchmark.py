"""Latency harness: one procedure for every model, backend and stage.

Three stages are timed for each (model, backend):

- ``forward``: the network alone on a preprocessed batch;
- ``forward+nms``: network, box decoding and NMS (the PyTorch backends run
  the model's own ``predict``, onnxruntime the graph exported with NMS);
- ``end2end``: from decoded BGR images: the config's test pipeline, data
  preprocessor, network, NMS and mapping boxes back to the image.

Rounds interleave all (model, backend, stage) entries so that a slow
moment of the machine hits every entry alike; the statistics pool the
samples of all rounds.
"""
import copy
import os
import os.path as osp
import platform
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from .deploy import deploy_model
from .end2end import End2EndDetector, nms_settings
from .export import export_onnx
from .ort import ORTDetector
from .pipeline import build_test_pipeline, preprocess
from .utils import build_detector, calibrate_batch_norms

BACKENDS = ('pytorch', 'pytorch-deploy', 'onnxruntime')
STAGES = ('forward', 'forward+nms', 'end2end')


def synthetic_image(height: int = 480, width: int = 640,
                    seed: int = 0) -> np.ndarray:
    """A deterministic BGR test image: a smooth background with filled
    rectangles and ellipses (letterboxed by the pipeline like a photo)."""
    import cv2
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.stack([
        (xx * 255 // max(width - 1, 1)),
        (yy * 255 // max(height - 1, 1)),
        ((xx + yy) * 255 // max(width + height - 2, 1)),
    ], -1).astype(np.uint8)
    for _ in range(12):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x1, y1 = int(rng.integers(0, width - 20)), int(
            rng.integers(0, height - 20))
        w, h = int(rng.integers(20, width // 3)), int(
            rng.integers(20, height // 3))
        if rng.random() < 0.5:
            cv2.rectangle(image, (x1, y1), (x1 + w, y1 + h), color, -1)
        else:
            cv2.ellipse(image, (x1 + w // 2, y1 + h // 2), (w // 2, h // 2),
                        0, 0, 360, color, -1)
    return image


def time_callable(fn: Callable[[], object], repeat: int) -> List[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn``."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def summarize(samples: Sequence[float], batch: int) -> dict:
    """Median, p90 and mean in ms, and images per second at the median."""
    ordered = sorted(samples)
    median = statistics.median(ordered)
    p90 = ordered[min(len(ordered) - 1, int(np.ceil(0.9 * len(ordered))) - 1)]
    return dict(
        median_ms=median * 1e3,
        p90_ms=p90 * 1e3,
        mean_ms=statistics.fmean(ordered) * 1e3,
        images_per_s=batch / median,
        samples=len(ordered))


def prepare_stages(model: torch.nn.Module,
                   backend: str,
                   images: List[np.ndarray],
                   shape: Sequence[int],
                   threads: int,
                   work_dir: str,
                   name: str,
                   exporter: str = 'dynamo',
                   channel_multiple: Optional[int] = None
                   ) -> Dict[str, Callable]:
    """The three stage callables of one model on one backend.

    Args:
        model (nn.Module): Eager detector (not changed; deploy backends
            work on a copy). Its ``bbox_head.test_cfg`` gives the NMS
            settings of every backend.
        backend (str): One of :data:`BACKENDS`.
        images (list[np.ndarray]): The batch, BGR images.
        shape (Sequence[int]): Network input ``(H, W)``.
        threads (int): onnxruntime intra-op threads.
        work_dir (str): Where ONNX files are written.
        name (str): File name stem for the ONNX files.
        exporter (str): ONNX exporter. Defaults to ``'dynamo'``.
        channel_multiple (int, optional): Channel padding of the model
            exported for onnxruntime (see :func:`deploy_model`).
            Defaults to None.

    Returns:
        dict: ``{stage: callable}`` for every stage in :data:`STAGES`.
    """
    if backend not in BACKENDS:
        raise ValueError(
            f'backend must be one of {BACKENDS}, got {backend!r}')
    cfg = model.cfg
    pipeline = build_test_pipeline(cfg, shape)
    inputs, data_samples = preprocess(pipeline, images,
                                      model.data_preprocessor)
    if backend in ('pytorch', 'pytorch-deploy'):
        if backend == 'pytorch-deploy':
            model = deploy_model(copy.deepcopy(model))
        model.eval()

        def forward():
            with torch.no_grad():
                return model._forward(inputs)

        def forward_nms():
            with torch.no_grad():
                return model.predict(inputs, copy.deepcopy(data_samples))

        def end2end():
            from mmengine.dataset import pseudo_collate
            data = pseudo_collate(
                [pipeline(dict(img=img, img_id=0)) for img in images])
            with torch.no_grad():
                return model.test_step(data)

        return {
            'forward': forward,
            'forward+nms': forward_nms,
            'end2end': end2end
        }

    deployed = deploy_model(
        copy.deepcopy(model),
        channels_last=False,
        channel_multiple=channel_multiple)
    settings = nms_settings(model.bbox_head.test_cfg)
    batch = len(images)
    os.makedirs(work_dir, exist_ok=True)
    net_file = osp.join(work_dir, f'{name}_net.onnx')
    e2e_file = osp.join(work_dir, f'{name}_nms.onnx')
    export_onnx(
        End2EndDetector(deployed, **settings, with_nms=False),
        net_file,
        shape,
        batch=batch,
        exporter=exporter)
    export_onnx(
        End2EndDetector(deployed, **settings),
        e2e_file,
        shape,
        batch=batch,
        exporter=exporter)
    from .ort import make_session
    net_session = make_session(net_file, threads)
    detector = ORTDetector(e2e_file, cfg, num_threads=threads)
    feed = {'images': inputs.numpy()}
    return {
        'forward': lambda: net_session.run(None, feed),
        'forward+nms': lambda: detector.session.run(None, feed),
        'end2end': lambda: detector(images)
    }


def run_benchmark(models: Sequence[dict],
                  backends: Sequence[str],
                  shape: Sequence[int] = (640, 640),
                  batch: int = 1,
                  threads: int = 2,
                  repeat: int = 10,
                  rounds: int = 3,
                  warmup: int = 3,
                  work_dir: str = 'work_dirs/benchmark',
                  nms_overrides: Optional[dict] = None,
                  exporter: str = 'dynamo',
                  channel_multiple: Optional[int] = None,
                  image: Optional[np.ndarray] = None,
                  log: Callable[[str], None] = print) -> dict:
    """Time every model on every backend, side by side.

    Args:
        models (Sequence[dict]): ``dict(name=..., config=...,
            checkpoint=None)`` each. A model without checkpoint keeps
            seeded random weights with BN statistics calibrated on the
            benchmark batch (:func:`calibrate_batch_norms`).
        backends (Sequence[str]): Subset of :data:`BACKENDS`.
        shape (Sequence[int]): Network input ``(H, W)``.
            Defaults to (640, 640).
        batch (int): Images per call. Defaults to 1.
        threads (int): Threads of PyTorch and onnxruntime. Defaults to 2.
        repeat (int): Timed calls per entry and round. Defaults to 10.
        rounds (int): Interleaved rounds. Defaults to 3.
        warmup (int): Untimed calls per entry first. Defaults to 3.
        work_dir (str): Where ONNX files go.
            Defaults to ``'work_dirs/benchmark'``.
        nms_overrides (dict, optional): ``score_thr, iou_thr, pre_topk,
            keep_topk`` overriding each config's ``test_cfg``.
            Defaults to None.
        exporter (str): ONNX exporter. Defaults to ``'dynamo'``.
        channel_multiple (int, optional): Channel padding for onnxruntime.
            Defaults to None.
        image (np.ndarray, optional): BGR image; defaults to
            :func:`synthetic_image`. Defaults to None.
        log (callable): Progress messages. Defaults to ``print``.

    Returns:
        dict: ``settings`` and ``results`` (one row per model, backend and
        stage with the :func:`summarize` statistics).
    """
    for backend in backends:
        if backend not in BACKENDS:
            raise ValueError(
                f'backend must be one of {BACKENDS}, got {backend!r}')
    for key, value in dict(batch=batch, threads=threads, repeat=repeat,
                           rounds=rounds).items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f'{key} must be an int >= 1, got {value}')
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f'warmup must be an int >= 0, got {warmup}')
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _run(models, backends, shape, batch, threads, repeat, rounds,
                    warmup, work_dir, nms_overrides, exporter,
                    channel_multiple, image, log)
    finally:
        torch.set_num_threads(previous_threads)


def _run(models, backends, shape, batch, threads, repeat, rounds, warmup,
         work_dir, nms_overrides, exporter, channel_multiple, image,
         log) -> dict:
    image = synthetic_image() if image is None else image
    images = [image] * batch
    entries = []
    for spec in models:
        model = build_detector(spec['config'], spec.get('checkpoint'))
        if spec.get('checkpoint') is None:
            inputs, _ = preprocess(
                build_test_pipeline(model.cfg, shape), images,
                model.data_preprocessor)
            calibrate_batch_norms(model, inputs)
        head_cfg = model.bbox_head.test_cfg
        settings = nms_settings(head_cfg, **(nms_overrides or {}))
        head_cfg.score_thr = settings['score_thr']
        head_cfg.nms.iou_threshold = settings['iou_thr']
        head_cfg.nms_pre = settings['pre_topk']
        head_cfg.max_per_img = settings['keep_topk']
        for backend in backends:
            log(f'preparing {spec["name"]} / {backend}')
            stages = prepare_stages(
                model,
                backend,
                images,
                shape,
                threads,
                work_dir,
                name=f'{spec["name"]}_{shape[0]}x{shape[1]}_b{batch}',
                exporter=exporter,
                channel_multiple=channel_multiple)
            for stage in STAGES:
                for _ in range(warmup):
                    stages[stage]()
                entries.append(
                    dict(
                        model=spec['name'],
                        config=str(spec['config']),
                        checkpoint=spec.get('checkpoint'),
                        backend=backend,
                        stage=stage,
                        nms=settings,
                        fn=stages[stage],
                        samples=[]))
    for index in range(rounds):
        log(f'round {index + 1}/{rounds}')
        for entry in entries:
            entry['samples'] += time_callable(entry['fn'], repeat)
    results = []
    for entry in entries:
        row = {k: v for k, v in entry.items() if k not in ('fn', 'samples')}
        row.update(summarize(entry['samples'], batch))
        results.append(row)
    return dict(
        settings=dict(
            shape=list(shape),
            batch=batch,
            threads=threads,
            repeat=repeat,
            rounds=rounds,
            warmup=warmup,
            exporter=exporter,
            channel_multiple=channel_multiple,
            torch=torch.__version__,
            onnxruntime=_version('onnxruntime'),
            machine=platform.processor() or platform.machine(),
            cpu_count=os.cpu_count()),
        results=results)


def _version(package: str) -> Optional[str]:
    from importlib import metadata
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def format_table(report: dict) -> str:
    """Markdown table: one row per (model, backend), median / p90 ms of
    each stage and images/s end to end."""
    rows = {}
    for r in report['results']:
        rows.setdefault((r['model'], r['backend']), {})[r['stage']] = r
    header = ('| model | backend | ' + ' | '.join(
        f'{s} median / p90 ms' for s in STAGES) + ' | end2end img/s |')
    lines = [header, '|' + ' --- |' * (len(STAGES) + 3)]
    for (model, backend), stages in rows.items():
        cells = [
            f'{stages[s]["median_ms"]:.1f} / {stages[s]["p90_ms"]:.1f}'
            for s in STAGES
        ]
        lines.append(f'| {model} | {backend} | ' + ' | '.join(cells) +
                     f' | {stages["end2end"]["images_per_s"]:.2f} |')
    return '\n'.join(lines)
