"""Latency of one built detector on one backend, under one protocol.

Three stages can be timed for each (model, backend):

- ``forward``: the network alone on a preprocessed batch;
- ``forward+nms``: network, box decoding and NMS (the PyTorch backends run
  the model's own ``predict``, onnxruntime and OpenVINO the graph exported
  with NMS);
- ``end2end``: from decoded BGR images: the config's test pipeline, data
  preprocessor, network, NMS and mapping boxes back to the image.

Backends: eager PyTorch, PyTorch in deploy mode
(:func:`mmyoloms.deploy.deploy_model`), and the deploy-mode graph exported
to ONNX on onnxruntime and OpenVINO, in float32 and INT8
(:mod:`mmyoloms.deploy.quantize`).

The model comes built (:func:`mmyoloms.deploy.build_detector`); reports
are formatted by :mod:`mmyoloms.profiling.report`.

Example:
    >>> from mmyoloms.deploy import build_detector
    >>> from mmyoloms.profiling import TimingProtocol, measure_latency
    >>> model = build_detector('configs/yoloms/'
    ...                        'yoloms-xs_syncbn_fast_8xb8-300e_coco.py')
    >>> protocol = TimingProtocol(shape=(320, 320), threads=2)
    >>> [record] = measure_latency(model, 'openvino-int8', protocol,
    ...                            stages=['forward'])
    >>> record.median_ms, record.p90_ms
"""
import copy
import dataclasses
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from .protocol import TimingProtocol, pinned_threads, summarize, time_callable

BACKENDS = ('pytorch', 'pytorch-deploy', 'onnxruntime', 'openvino',
            'onnxruntime-int8', 'openvino-int8')
STAGES = ('forward', 'forward+nms', 'end2end')


def check_backend(backend: str) -> None:
    """A backend not in :data:`BACKENDS` is an error that lists them."""
    if backend not in BACKENDS:
        raise ValueError(
            f'backend must be one of {BACKENDS}, got {backend!r}')


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


@dataclasses.dataclass
class LatencyRecord:
    """One timed (model, backend, stage).

    Attributes:
        model (str): The model's name.
        backend (str): One of :data:`BACKENDS`.
        stage (str): One of :data:`STAGES`.
        shape (list[int]): Network input ``(H, W)``.
        batch (int): Images per call.
        threads (int): Runtime threads.
        median_ms, p10_ms, p90_ms, iqr_ms, mean_ms (float): Statistics of
            the calls (:func:`mmyoloms.profiling.summarize`).
        images_per_s (float): ``batch`` over the median.
        samples (int): Timed calls.
        nms (dict): ``score_thr, iou_thr, pre_topk, keep_topk`` of every
            backend (the model's ``bbox_head.test_cfg``).
        deploy (dict): Keyword arguments of ``deploy_model`` for the
            deployed backends.
        config (str, optional): Config the model was built from.
        checkpoint (str, optional): Its weights (None: random).
    """
    model: str
    backend: str
    stage: str
    shape: List[int]
    batch: int
    threads: int
    median_ms: float
    p10_ms: float
    p90_ms: float
    iqr_ms: float
    mean_ms: float
    images_per_s: float
    samples: int
    nms: dict = dataclasses.field(default_factory=dict)
    deploy: dict = dataclasses.field(default_factory=dict)
    config: Optional[str] = None
    checkpoint: Optional[str] = None

    def as_dict(self) -> dict:
        """The record as a JSON-ready dict."""
        return dataclasses.asdict(self)


class GraphCache:
    """The exported graphs of one model, each written on first use: the
    network alone (``net``) and with decoding and NMS (``nms``), in float
    and INT8 for each runtime, so that the backends of one model share
    them.

    Args:
        model (nn.Module): Eager detector (not changed).
        shape (Sequence[int]): Network input ``(H, W)``.
        batch (int): Batch of the graphs.
        work_dir (str): Where the files go.
        name (str): File name stem.
        exporter (str): ONNX exporter.
        deploy_cfg (dict): Keyword arguments of ``deploy_model``.
        calib_inputs (list[np.ndarray]): INT8 calibration batches.
    """

    def __init__(self, model: torch.nn.Module, shape: Sequence[int],
                 batch: int, work_dir: str, name: str, exporter: str,
                 deploy_cfg: dict, calib_inputs: List[np.ndarray]) -> None:
        self.model = model
        self.shape = tuple(shape)
        self.batch = batch
        self.stem = osp.join(work_dir, name)
        self.exporter = exporter
        self.deploy_cfg = deploy_cfg
        self.calib_inputs = calib_inputs
        self.files = {}
        os.makedirs(work_dir, exist_ok=True)

    def get(self, graph: str, precision: str = 'fp32',
            runtime: str = 'onnxruntime') -> str:
        """The file of ``graph`` (``'net'`` or ``'nms'``) in ``precision``
        (``'fp32'`` or ``'int8'``; INT8 differs per ``runtime``)."""
        key = (graph, precision, runtime if precision == 'int8' else None)
        if key not in self.files:
            self.files[key] = self._make(graph, precision, runtime)
        return self.files[key]

    def _make(self, graph: str, precision: str, runtime: str) -> str:
        from mmyoloms.deploy import (End2EndDetector, deploy_model,
                                     export_onnx, nms_settings)
        from mmyoloms.deploy.quantize import (quantize_onnxruntime,
                                              quantize_openvino)
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


def network_input(model: torch.nn.Module, shape: Sequence[int],
                  images: List[np.ndarray]) -> np.ndarray:
    """``images`` through ``model``'s test pipeline (resized to ``shape``)
    and data preprocessor: the batch the network and graphs are fed."""
    from mmyoloms.deploy import build_test_pipeline, preprocess
    inputs, _ = preprocess(build_test_pipeline(model.cfg, shape), images,
                           model.data_preprocessor)
    return np.ascontiguousarray(inputs.numpy())


def _pytorch_stages(model, deploy_cfg, pipeline, images, inputs,
                    data_samples) -> Dict[str, Callable]:
    from mmengine.dataset import pseudo_collate

    from mmyoloms.deploy import deploy_model
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
                   graphs: GraphCache,
                   deploy_cfg: Optional[dict] = None) -> Dict[str, Callable]:
    """The stage callables of one model on one backend.

    Args:
        model (nn.Module): Eager detector (not changed; deploy backends
            work on a copy). Its ``bbox_head.test_cfg`` gives the NMS
            settings of every backend.
        backend (str): One of :data:`BACKENDS`.
        images (list[np.ndarray]): The batch, BGR images.
        shape (Sequence[int]): Network input ``(H, W)``.
        threads (int): Threads of onnxruntime / OpenVINO.
        graphs (GraphCache): The model's exported graphs.
        deploy_cfg (dict, optional): Keyword arguments of
            ``deploy_model`` for ``pytorch-deploy`` (``channels_last`` is
            deploy mode's default there; the exported graphs are
            ``graphs``'). Defaults to None.

    Returns:
        dict: ``{stage: callable}`` for every stage in :data:`STAGES`.
    """
    from mmyoloms.deploy import (ORTDetector, OVDetector,
                                 build_test_pipeline, compile_openvino,
                                 make_session, preprocess)
    from mmyoloms.deploy.export import INPUT_NAME
    check_backend(backend)
    deploy_cfg = dict(deploy_cfg or {})
    deploy_cfg.pop('channels_last', None)
    cfg = model.cfg
    pipeline = build_test_pipeline(cfg, shape)
    inputs, data_samples = preprocess(pipeline, images,
                                      model.data_preprocessor)
    if backend.startswith('pytorch'):
        return _pytorch_stages(
            model, deploy_cfg if backend == 'pytorch-deploy' else None,
            pipeline, images, inputs, data_samples)
    feed = np.ascontiguousarray(inputs.numpy())
    runtime, _, precision = backend.partition('-')
    precision = precision or 'fp32'
    net_file = graphs.get('net', precision, runtime)
    nms_file = graphs.get('nms', precision, runtime)
    if runtime == 'onnxruntime':
        net = make_session(net_file, threads)
        detector = ORTDetector(nms_file, cfg, num_threads=threads)
        forward = lambda: net.run(None, {INPUT_NAME: feed})  # noqa: E731
    else:
        request = compile_openvino(net_file, threads).create_infer_request()
        detector = OVDetector(nms_file, cfg, num_threads=threads)
        forward = lambda: request.infer({0: feed})  # noqa: E731
    return {
        'forward': forward,
        'forward+nms': lambda: detector.run(feed),
        'end2end': lambda: detector(images)
    }


def time_interleaved(fns: Dict[object, Callable[[], object]],
                     protocol: TimingProtocol,
                     log: Optional[Callable[[str], None]] = None
                     ) -> Dict[object, List[float]]:
    """Time several callables under one protocol: ``protocol.warmup``
    untimed calls of each, then ``protocol.rounds`` rounds of
    ``protocol.repeat`` timed calls of each in turn, so that a slow moment
    of the machine hits them alike.

    Args:
        fns (dict): Key -> callable.
        protocol (TimingProtocol): Warm-up, repeats and rounds (threads are
            the caller's: see :func:`pinned_threads`).
        log (callable, optional): Progress messages. Defaults to None.

    Returns:
        dict: Key -> seconds of each timed call.
    """
    for fn in fns.values():
        for _ in range(protocol.warmup):
            fn()
    samples = {key: [] for key in fns}
    for index in range(protocol.rounds):
        if log is not None:
            log(f'round {index + 1}/{protocol.rounds}')
        for key, fn in fns.items():
            samples[key] += time_callable(fn, protocol.repeat)
    return samples


def make_record(name: str, backend: str, stage: str,
                samples: Sequence[float], protocol: TimingProtocol,
                model: torch.nn.Module, **extra) -> LatencyRecord:
    """A :class:`LatencyRecord` of timed calls of ``model``; ``extra``
    fills ``deploy``, ``config`` and ``checkpoint``."""
    from mmyoloms.deploy import nms_settings
    return LatencyRecord(
        model=name,
        backend=backend,
        stage=stage,
        shape=list(protocol.shape),
        batch=protocol.batch,
        threads=protocol.threads,
        nms=nms_settings(model.bbox_head.test_cfg),
        **summarize(samples, protocol.batch),
        **extra)


def measure_latency(model: torch.nn.Module,
                    backend: str,
                    protocol: TimingProtocol,
                    name: str = 'model',
                    stages: Sequence[str] = STAGES,
                    image: Optional[np.ndarray] = None,
                    work_dir: str = 'work_dirs/latency',
                    exporter: str = 'dynamo',
                    deploy_cfg: Optional[dict] = None,
                    calib_inputs: Optional[List[np.ndarray]] = None,
                    log: Optional[Callable[[str], None]] = None
                    ) -> List[LatencyRecord]:
    """Time one built model on one backend under one protocol.

    Args:
        model (nn.Module): Eager detector with ``cfg`` attached
            (:func:`mmyoloms.deploy.build_detector`); not changed.
        backend (str): One of :data:`BACKENDS`.
        protocol (TimingProtocol): Shape, batch, warm-up, repeats, rounds
            and threads (pinned for the whole measurement).
        name (str): The model's name in the records and the file stem of
            its exported graphs. Defaults to ``'model'``.
        stages (Sequence[str]): Stages to time, from :data:`STAGES`.
            Defaults to all.
        image (np.ndarray, optional): BGR image, repeated ``batch`` times.
            Defaults to None (:func:`synthetic_image`).
        work_dir (str): Where exported graphs go.
            Defaults to ``'work_dirs/latency'``.
        exporter (str): ONNX exporter. Defaults to ``'dynamo'``.
        deploy_cfg (dict, optional): Keyword arguments of
            ``deploy_model`` for every backend but ``pytorch``.
            Defaults to None.
        calib_inputs (list[np.ndarray], optional): INT8 calibration
            batches. Defaults to None (the timed batch: enough for timing;
            accuracy is measured by ``tools/test_deployed.py``).
        log (callable, optional): Progress messages. Defaults to None.

    Returns:
        list[LatencyRecord]: One per stage, in the order of ``stages``.
    """
    check_backend(backend)
    for stage in stages:
        if stage not in STAGES:
            raise ValueError(
                f'stage must be one of {STAGES}, got {stage!r}')
    images = [synthetic_image() if image is None else image] * protocol.batch
    deploy_cfg = dict(deploy_cfg or {})
    with pinned_threads(protocol.threads):
        if calib_inputs is None:
            calib_inputs = [network_input(model, protocol.shape, images)]
        graphs = GraphCache(model, protocol.shape, protocol.batch, work_dir,
                            name, exporter, deploy_cfg, calib_inputs)
        fns = prepare_stages(model, backend, images, protocol.shape,
                             protocol.threads, graphs, deploy_cfg)
        samples = time_interleaved({s: fns[s] for s in stages}, protocol,
                                   log)
    return [
        make_record(name, backend, stage, samples[stage], protocol, model,
                    deploy=deploy_cfg) for stage in stages
    ]
