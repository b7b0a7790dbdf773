"""Side-by-side latency of several detectors on several backends.

:func:`run_benchmark` builds each model from its config
(:func:`prepare_benchmark_model`), prepares every (model, backend, stage)
with :mod:`mmyoloms.profiling.latency` and times them all in interleaved
rounds under one :class:`~mmyoloms.profiling.TimingProtocol`, so that a
slow moment of the machine hits every entry alike. Tables are made by
:func:`mmyoloms.profiling.report.format_latency_table`.
"""
import os
import platform
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch

from .latency import (STAGES, GraphCache, check_backend, make_record,
                      network_input, prepare_stages, synthetic_image,
                      time_interleaved)
from .protocol import TimingProtocol, pinned_threads


def prepare_benchmark_model(spec: dict,
                            protocol: TimingProtocol,
                            images: List[np.ndarray],
                            nms_overrides: Optional[dict] = None
                            ) -> torch.nn.Module:
    """The eager detector of one benchmark entry.

    Args:
        spec (dict): ``dict(config=..., checkpoint=None)``. Without a
            checkpoint the model keeps seeded random weights with BN
            statistics calibrated on the benchmark batch.
        protocol (TimingProtocol): Its shape is the calibration input's.
        images (list[np.ndarray]): The benchmark batch.
        nms_overrides (dict, optional): ``score_thr, iou_thr, pre_topk,
            keep_topk`` written into the model's ``bbox_head.test_cfg``,
            which every backend's NMS follows. Defaults to None.

    Returns:
        nn.Module: The detector (``eval()``, ``cfg`` attached).
    """
    from mmyoloms.deploy import (build_detector, calibrate_batch_norms,
                                 nms_settings)
    model = build_detector(spec['config'], spec.get('checkpoint'))
    if spec.get('checkpoint') is None:
        calibrate_batch_norms(
            model,
            torch.from_numpy(network_input(model, protocol.shape, images)))
    head_cfg = model.bbox_head.test_cfg
    settings = nms_settings(head_cfg, **(nms_overrides or {}))
    head_cfg.score_thr = settings['score_thr']
    head_cfg.nms.iou_threshold = settings['iou_thr']
    head_cfg.nms_pre = settings['pre_topk']
    head_cfg.max_per_img = settings['keep_topk']
    return model


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
            checkpoint=None, deploy=None)`` each (see
            :func:`prepare_benchmark_model`). ``deploy`` holds keyword
            arguments of ``deploy_model`` for the deployed backends,
            e.g. ``dict(slice_free=False)`` to time the sliced block.
        backends (Sequence[str]): Subset of
            :data:`~mmyoloms.profiling.latency.BACKENDS`. The INT8
            backends are calibrated on the benchmark batch (accuracy is
            measured with ``tools/test_deployed.py``).
        shape, batch, threads, repeat, rounds, warmup: The
            :class:`TimingProtocol`. Default to (640, 640), 1, 2, 10, 3
            and 3.
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
        dict: ``settings`` (the protocol, exporter and versions) and
        ``results`` (one :class:`LatencyRecord` dict per model, backend
        and stage).
    """
    for backend in backends:
        check_backend(backend)
    protocol = TimingProtocol(
        shape=tuple(shape), batch=batch, warmup=warmup, repeat=repeat,
        rounds=rounds, threads=threads)
    image = synthetic_image() if image is None else image
    images = [image] * batch
    fns, meta = {}, {}
    with pinned_threads(threads):
        for spec in models:
            model = prepare_benchmark_model(spec, protocol, images,
                                            nms_overrides)
            deploy_cfg = dict(spec.get('deploy') or {})
            graphs = GraphCache(
                model, protocol.shape, batch, work_dir,
                f'{spec["name"]}_{shape[0]}x{shape[1]}_b{batch}', exporter,
                deploy_cfg, [network_input(model, protocol.shape, images)])
            for backend in backends:
                log(f'preparing {spec["name"]} / {backend}')
                stages = prepare_stages(model, backend, images,
                                        protocol.shape, threads, graphs,
                                        deploy_cfg)
                for stage in STAGES:
                    key = (spec['name'], backend, stage)
                    fns[key] = stages[stage]
                    meta[key] = dict(
                        model=model, deploy=deploy_cfg,
                        config=str(spec['config']),
                        checkpoint=spec.get('checkpoint'))
        samples = time_interleaved(fns, protocol, log)
    results = [
        make_record(*key, samples[key], protocol, **meta[key]).as_dict()
        for key in fns
    ]
    return dict(
        settings=dict(protocol.as_dict(), exporter=exporter,
                      **environment()),
        results=results)


def _version(package: str) -> Optional[str]:
    from importlib import metadata
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict:
    """Versions of the runtimes and the machine a benchmark ran on."""
    return dict(
        torch=torch.__version__,
        onnxruntime=_version('onnxruntime'),
        openvino=_version('openvino'),
        nncf=_version('nncf'),
        machine=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count())
