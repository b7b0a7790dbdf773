"""Where the time of a deployed graph goes: per-operator time from
onnxruntime's profiler and OpenVINO's performance counters, summed by
operator type (and by layer), for the notes in ``docs/deploy.md``.
Tables are made by :mod:`mmyoloms.profiling.report`."""
import json
import os
import os.path as osp
import tempfile
from collections import defaultdict
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from mmyoloms.utils import positive_int
from .protocol import non_negative_int


def _check_settings(threads: int, runs: int, warmup: int, top: int) -> None:
    positive_int(threads, 'threads')
    positive_int(runs, 'runs')
    non_negative_int(warmup, 'warmup')
    non_negative_int(top, 'top')


def _check_file(model_file: str) -> None:
    if not osp.isfile(model_file):
        raise FileNotFoundError(f'model file not found: {model_file}')


def _summary(per_type: Dict[str, float], per_node: Dict[str, float],
             runs: int, top: int) -> dict:
    total = sum(per_type.values())
    return dict(
        total_ms=total / runs,
        by_type={
            k: v / runs
            for k, v in sorted(per_type.items(), key=lambda kv: -kv[1])
        },
        top_nodes={
            k: v / runs
            for k, v in sorted(per_node.items(), key=lambda kv: -kv[1])[:top]
        })


def input_shape(model_file: str,
                shape: Optional[Sequence[int]] = None,
                default: Sequence[int] = (640, 640)) -> Tuple[int, ...]:
    """The ``(N, C, H, W)`` input to profile a model with: the graph's own
    dimensions where they are fixed, else batch 1, 3 channels and ``shape``
    (or ``default``).

    Args:
        model_file (str): ``.onnx`` file, or an OpenVINO ``.xml``.
        shape (Sequence[int], optional): ``(H, W)`` asked for. A graph with
            a fixed size that differs is an error. Defaults to None.
        default (Sequence[int]): ``(H, W)`` of a graph with a dynamic size
            when ``shape`` is None. Defaults to ``(640, 640)``.

    Returns:
        tuple[int]: ``(N, C, H, W)``.

    Raises:
        FileNotFoundError: ``model_file`` does not exist.
        ValueError: The graph has more than one input or an input that is
            not 4-D, or ``shape`` disagrees with its fixed size.
    """
    _check_file(model_file)
    if shape is not None and (len(shape) != 2 or any(
            not isinstance(s, int) or s < 1 for s in shape)):
        raise ValueError(f'shape must be two ints (H, W) >= 1, got {shape}')
    if model_file.endswith('.onnx'):
        import onnx
        graph = onnx.load(model_file, load_external_data=False).graph
        weights = {init.name for init in graph.initializer}
        inputs = [i for i in graph.input if i.name not in weights]
        names = [i.name for i in inputs]
        dims = [[d.dim_value if d.HasField('dim_value') else None
                 for d in i.type.tensor_type.shape.dim] for i in inputs]
    else:
        import openvino as ov
        model = ov.Core().read_model(model_file)
        names = [i.get_any_name() for i in model.inputs]
        dims = [[d.get_length() if d.is_static else None
                 for d in i.get_partial_shape()] for i in model.inputs]
    if len(names) != 1:
        raise ValueError(
            f'{model_file}: expected a graph with one input, got {names}')
    fixed = dims[0]
    if len(fixed) != 4:
        raise ValueError(f'{model_file}: expected a 4-D (N, C, H, W) input, '
                         f'got {len(fixed)}-D input {names[0]!r}')
    wanted = [1, 3, *(shape if shape is not None else default)]
    if shape is not None and any(
            f is not None and f != w for f, w in zip(fixed[2:], wanted[2:])):
        expected = tuple('?' if f is None else f for f in fixed)
        raise ValueError(
            f'{model_file} has the fixed input shape {expected}, but '
            f'(H, W) = {tuple(shape)} was asked for (leave the shape out, '
            f'or ask for {expected[2]} {expected[3]})')
    return tuple(w if f is None else f for f, w in zip(fixed, wanted))


def profile_onnxruntime(onnx_file: str,
                        inputs: np.ndarray,
                        threads: int = 2,
                        runs: int = 10,
                        warmup: int = 3,
                        top: int = 15) -> dict:
    """Operator times of an ONNX graph in onnxruntime (all graph
    optimisations, so fused and layout-converted nodes appear as run).

    Args:
        onnx_file (str): Model file, with a single input.
        inputs (np.ndarray): Its input.
        threads (int): Intra-op threads. Defaults to 2.
        runs (int): Profiled runs. Defaults to 10.
        warmup (int): Runs before those, left out. Defaults to 3.
        top (int): Number of ``top_nodes``. Defaults to 15.

    Returns:
        dict: ``total_ms`` (sum of node times per run), ``by_type`` and
        ``top_nodes`` (ms per run, largest first).
    """
    from mmyoloms.deploy.ort import make_session
    _check_settings(threads, runs, warmup, top)
    _check_file(onnx_file)
    with tempfile.TemporaryDirectory() as tmp:
        session = make_session(
            onnx_file, threads, profile_prefix=os.path.join(tmp, 'ort'))
        names = [i.name for i in session.get_inputs()]
        if len(names) != 1:
            raise ValueError(
                f'{onnx_file}: expected a graph with one input, got {names}')
        for _ in range(warmup + runs):
            session.run(None, {names[0]: inputs})
        with open(session.end_profiling(), encoding='utf-8') as f:
            events = json.load(f)
    return summarize_ort_events(events, runs, warmup, top)


def summarize_ort_events(events: list, runs: int, warmup: int,
                         top: int) -> dict:
    """Sum the node events of an onnxruntime profile (the JSON list of
    ``session.end_profiling()``) over its last ``runs`` runs.

    Warm-up runs are left out by time, before the start of the
    ``warmup``-th ``model_run`` event: a node's events cannot simply be
    counted, since a node can run more than once in a run (subgraphs).

    Args:
        events (list): Profile events.
        runs (int): Profiled runs (times are divided by it).
        warmup (int): Runs at the start that are left out.
        top (int): Number of ``top_nodes``.

    Returns:
        dict: See :func:`profile_onnxruntime`.
    """
    starts = sorted(e['ts'] for e in events
                    if e.get('cat') == 'Session' and e['name'] == 'model_run')
    if len(starts) != warmup + runs:
        raise ValueError(f'the profile has {len(starts)} runs, expected '
                         f'{warmup} warm-up + {runs} runs')
    per_type, per_node = defaultdict(float), defaultdict(float)
    for event in events:
        if (event.get('cat') != 'Node'
                or not event['name'].endswith('_kernel_time')
                or event['ts'] < starts[warmup]):
            continue
        ms = event['dur'] / 1e3
        per_type[event['args']['op_name']] += ms
        per_node[event['name'][:-len('_kernel_time')]] += ms
    return _summary(per_type, per_node, runs, top)


def profile_openvino(model_file: str,
                     inputs: np.ndarray,
                     threads: int = 2,
                     runs: int = 10,
                     warmup: int = 3,
                     top: int = 15,
                     precision: str = 'f32') -> dict:
    """Layer times of a model in OpenVINO's CPU plugin (its performance
    counters; fused layers appear once, with their ``exec_type``, e.g.
    ``jit_avx512_FP32`` or ``brgconv_avx512_amx_I8``).

    Args:
        model_file (str): ``.onnx`` or OpenVINO ``.xml``, a single input.
        inputs (np.ndarray): Its input.
        threads (int): Inference threads. Defaults to 2.
        runs (int): Profiled runs. Defaults to 10.
        warmup (int): Runs before those, left out. Defaults to 3.
        top (int): Number of ``top_nodes``. Defaults to 15.
        precision (str): Inference precision hint, one of
            :data:`mmyoloms.deploy.ov.PRECISIONS`. Defaults to ``'f32'``.

    Returns:
        dict: ``total_ms``, ``by_type`` (keyed ``type/exec_type``) and
        ``top_nodes`` (ms per run, largest first).
    """
    import openvino as ov

    from mmyoloms.deploy.ov import compile_openvino
    _check_settings(threads, runs, warmup, top)
    _check_file(model_file)
    model = ov.Core().read_model(model_file)
    if len(model.inputs) != 1:
        raise ValueError(f'{model_file}: expected a graph with one input, '
                         f'got {len(model.inputs)}')
    compiled = compile_openvino(model, threads, precision, profiling=True)
    request = compiled.create_infer_request()
    for _ in range(warmup):
        request.infer({0: inputs})
    per_type, per_node = defaultdict(float), defaultdict(float)
    for _ in range(runs):
        request.infer({0: inputs})
        for info in request.get_profiling_info():
            if info.status != info.Status.EXECUTED:
                continue
            ms = info.real_time.total_seconds() * 1e3
            per_type[f'{info.node_type}/{info.exec_type}'] += ms
            per_node[info.node_name] += ms
    return _summary(per_type, per_node, runs, top)
