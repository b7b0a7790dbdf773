"""Latency harness: one procedure for every model, backend and stage.

Three stages are timed for each (model, backend):

- ``forward``: the network alone on a preprocessed batch;
- ``forward+nms``: network, box decoding and NMS (the PyTorch backends run
  the model's own ``predict``, onnxruntime and OpenVINO the graph exported
  with NMS);
- ``end2end``: from decoded BGR images: the config's test pipeline, data
  preprocessor, network, NMS and mapping boxes back to the image.

Backends: eager PyTorch, PyTorch in deploy mode (:func:`deploy_model`),
and the deploy-mode graph exported to ONNX on onnxruntime and OpenVINO,
in float32 and INT8 (:mod:`mmyoloms.deploy.quantize`).

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
from .export import INPUT_NAME, export_onnx
from .ort import ORTDetector, make_session
from .pipeline import build_test_pipeline, preprocess
from .quantize import quantize_onnxruntime, quantize_openvino
from .utils import build_detector, calibrate_batch_norms

BACKENDS = ('pytorch', 'pytorch-deploy', 'onnxruntime', 'openvino',
            'onnxruntime-int8', 'openvino-int8')
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


class _Graphs:
    """The exported graphs of one model, each written on first use: the
    network alone (``net``) and with decoding and NMS (``nms``), in float
    and INT8 for each runtime."""

    def __init__(self, model: torch.nn.Module, shape: Sequence[int],
                 batch: int, work_dir: str, name: str, exporter: str,
                 deploy_cfg: dict, calib_inputs: List[np.ndarray]) -> None:
        self.model = model
        self.shape = shape
        self.batch = batch
        self.stem = osp.join(work_dir, name)
        self.exporter = exporter
        self.deploy_cfg = deploy_cfg
        self.calib_inputs = calib_inputs
        self.files = {}

    def get(self, graph: str, precision: str = 'fp32',
            runtime: str = 'onnxruntime') -> str:
        key = (graph, precision, runtime if precision == 'int8' else None)
        if key not in self.files:
            self.files[key] = self._make(graph, precision, runtime)
        return self.files[key]

    def _make(self, graph: str, precision: str, runtime: str) -> str:
        if precision == 'int8':
            src = self.get(graph)
            if runtime == 'openvino':
                return quantize_openvino(src, f'{self.stem}_{graph}_int8.xml',
                                         self.calib_inputs)
            return quantize_onnxruntime(src,
                                        f'{self.stem}_{graph}_int8.onnx',
                                        self.calib_inputs)
        deployed = deploy_model(
            copy.deepcopy(self.model), channels_last=False,
            **self.deploy_cfg)
        settings = nms_settings(self.model.bbox_head.test_cfg)
        return export_onnx(
            End2EndDetector(deployed, **settings, with_nms=graph == 'nms'),
            f'{self.stem}_{graph}.onnx',
            self.shape,
            batch=self.batch,
            exporter=self.exporter)


def _pytorch_stages(model, deploy_cfg, pipeline, images, inputs,
                    data_samples) -> Dict[str, Callable]:
    if deploy_cfg is not None:
        model = deploy_model(copy.deepcopy(model), **deploy_cfg)
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

    return {'forward': forward, 'forward+nms': forward_nms,
            'end2end': end2end}


def prepare_stages(model: torch.nn.Module,
                   backend: str,
                   images: List[np.ndarray],
                   shape: Sequence[int],
                   threads: int,
                   work_dir: str,
                   name: str,
                   exporter: str = 'dynamo',
                   deploy_cfg: Optional[dict] = None,
                   calib_inputs: Optional[List[np.ndarray]] = None,
                   graphs: Optional[_Graphs] = None) -> Dict[str, Callable]:
    """The three stage callables of one model on one backend.

    Args:
        model (nn.Module): Eager detector (not changed; deploy backends
            work on a copy). Its ``bbox_head.test_cfg`` gives the NMS
            settings of every backend.
        backend (str): One of :data:`BACKENDS`.
        images (list[np.ndarray]): The batch, BGR images.
        shape (Sequence[int]): Network input ``(H, W)``.
        threads (int): Threads of onnxruntime / OpenVINO.
        work_dir (str): Where exported graphs are written.
        name (str): File name stem of the exported graphs.
        exporter (str): ONNX exporter. Defaults to ``'dynamo'``.
        deploy_cfg (dict, optional): Keyword arguments of
            :func:`deploy_model` for every backend but ``pytorch``
            (``channels_last`` is set per backend). Defaults to None
            (deploy mode's defaults).
        calib_inputs (list[np.ndarray], optional): Calibration batches of
            the INT8 backends. Defaults to None (the benchmark batch:
            enough for timing; accuracy is measured with
            ``tools/test_deployed.py``).
        graphs (optional): Exported graphs shared between the backends of
            one model (internal). Defaults to None.

    Returns:
        dict: ``{stage: callable}`` for every stage in :data:`STAGES`.
    """
    if backend not in BACKENDS:
        raise ValueError(
            f'backend must be one of {BACKENDS}, got {backend!r}')
    deploy_cfg = dict(deploy_cfg or {})
    deploy_cfg.pop('channels_last', None)
    cfg = model.cfg
    pipeline = build_test_pipeline(cfg, shape)
    inputs, data_samples = preprocess(pipeline, images,
                                      model.data_preprocessor)
    if backend == 'pytorch':
        return _pytorch_stages(model, None, pipeline, images, inputs,
                               data_samples)
    if backend == 'pytorch-deploy':
        return _pytorch_stages(model, deploy_cfg, pipeline, images, inputs,
                               data_samples)
    feed = np.ascontiguousarray(inputs.numpy())
    if graphs is None:
        os.makedirs(work_dir, exist_ok=True)
        graphs = _Graphs(model, shape, len(images), work_dir, name,
                         exporter, deploy_cfg,
                         [feed] if calib_inputs is None else calib_inputs)
    runtime, _, precision = backend.partition('-')
    precision = precision or 'fp32'
    net_file = graphs.get('net', precision, runtime)
    nms_file = graphs.get('nms', precision, runtime)
    if runtime == 'onnxruntime':
        net = make_session(net_file, threads)
        detector = ORTDetector(nms_file, cfg, num_threads=threads)
        return {
            'forward': lambda: net.run(None, {INPUT_NAME: feed}),
            'forward+nms': lambda: detector.run(feed),
            'end2end': lambda: detector(images)
        }
    from .ov import OVDetector, compile_openvino
    net = compile_openvino(net_file, threads).create_infer_request()
    detector = OVDetector(nms_file, cfg, num_threads=threads)
    return {
        'forward': lambda: net.infer({0: feed}),
        'forward+nms': lambda: detector.run(feed),
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
                  image: Optional[np.ndarray] = None,
                  log: Callable[[str], None] = print) -> dict:
    """Time every model on every backend, side by side.

    Args:
        models (Sequence[dict]): ``dict(name=..., config=...,
            checkpoint=None, deploy=None)`` each. A model without
            checkpoint keeps seeded random weights with BN statistics
            calibrated on the benchmark batch
            (:func:`calibrate_batch_norms`). ``deploy`` holds keyword
            arguments of :func:`deploy_model` for the deployed backends,
            e.g. ``dict(slice_free=False)`` to time the sliced block.
        backends (Sequence[str]): Subset of :data:`BACKENDS`. The INT8
            backends are calibrated on the benchmark batch (accuracy is
            measured with ``tools/test_deployed.py``).
        shape (Sequence[int]): Network input ``(H, W)``.
            Defaults to (640, 640).
        batch (int): Images per call. Defaults to 1.
        threads (int): Threads of PyTorch, onnxruntime and OpenVINO.
            Defaults to 2.
        repeat (int): Timed calls per entry and round. Defaults to 10.
        rounds (int): Interleaved rounds. Defaults to 3.
        warmup (int): Untimed calls per entry first. Defaults to 3.
        work_dir (str): Where exported graphs go.
            Defaults to ``'work_dirs/benchmark'``.
        nms_overrides (dict, optional): ``score_thr, iou_thr, pre_topk,
            keep_topk`` overriding each config's ``test_cfg``.
            Defaults to None.
        exporter (str): ONNX exporter. Defaults to ``'dynamo'``.
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
                    warmup, work_dir, nms_overrides, exporter, image, log)
    finally:
        torch.set_num_threads(previous_threads)


def _run(models, backends, shape, batch, threads, repeat, rounds, warmup,
         work_dir, nms_overrides, exporter, image, log) -> dict:
    image = synthetic_image() if image is None else image
    images = [image] * batch
    entries = []
    for spec in models:
        model = build_detector(spec['config'], spec.get('checkpoint'))
        inputs, _ = preprocess(
            build_test_pipeline(model.cfg, shape), images,
            model.data_preprocessor)
        if spec.get('checkpoint') is None:
            calibrate_batch_norms(model, inputs)
        head_cfg = model.bbox_head.test_cfg
        settings = nms_settings(head_cfg, **(nms_overrides or {}))
        head_cfg.score_thr = settings['score_thr']
        head_cfg.nms.iou_threshold = settings['iou_thr']
        head_cfg.nms_pre = settings['pre_topk']
        head_cfg.max_per_img = settings['keep_topk']
        deploy_cfg = dict(spec.get('deploy') or {})
        name = f'{spec["name"]}_{shape[0]}x{shape[1]}_b{batch}'
        os.makedirs(work_dir, exist_ok=True)
        graphs = _Graphs(model, shape, batch, work_dir, name, exporter,
                         deploy_cfg,
                         [np.ascontiguousarray(inputs.numpy())])
        for backend in backends:
            log(f'preparing {spec["name"]} / {backend}')
            stages = prepare_stages(
                model,
                backend,
                images,
                shape,
                threads,
                work_dir,
                name=name,
                exporter=exporter,
                deploy_cfg=deploy_cfg,
                graphs=graphs)
            for stage in STAGES:
                for _ in range(warmup):
                    stages[stage]()
                entries.append(
                    dict(
                        model=spec['name'],
                        config=str(spec['config']),
                        checkpoint=spec.get('checkpoint'),
                        deploy=deploy_cfg,
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
            torch=torch.__version__,
            onnxruntime=_version('onnxruntime'),
            openvino=_version('openvino'),
            nncf=_version('nncf'),
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
