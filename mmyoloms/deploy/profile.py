"""Where the time of a deployed graph goes: per-operator time from
onnxruntime's profiler and OpenVINO's performance counters, summed by
operator type (and by layer), for the notes in ``docs/deploy.md``."""
import json
import os
import tempfile
from collections import defaultdict
from typing import Dict, Optional

import numpy as np


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


def profile_onnxruntime(onnx_file: str,
                        inputs: np.ndarray,
                        threads: int = 2,
                        runs: int = 10,
                        warmup: int = 3,
                        top: int = 15) -> dict:
    """Operator times of an ONNX graph in onnxruntime (all graph
    optimisations, so fused and layout-converted nodes appear as run).

    Returns:
        dict: ``total_ms`` (sum of node times per run), ``by_type`` and
        ``top_nodes`` (ms per run, largest first).
    """
    from .export import INPUT_NAME
    from .ort import make_session
    with tempfile.TemporaryDirectory() as tmp:
        session = make_session(
            onnx_file, threads, profile_prefix=os.path.join(tmp, 'ort'))
        for _ in range(warmup + runs):
            session.run(None, {INPUT_NAME: inputs})
        with open(session.end_profiling(), encoding='utf-8') as f:
            events = json.load(f)
    nodes = [
        e for e in events
        if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time')
    ]
    per_type, per_node = defaultdict(float), defaultdict(float)
    # the first `warmup` runs of every node are left out
    seen = defaultdict(int)
    for event in nodes:
        name = event['name'][:-len('_kernel_time')]
        seen[name] += 1
        if seen[name] <= warmup:
            continue
        ms = event['dur'] / 1e3
        per_type[event['args']['op_name']] += ms
        per_node[name] += ms
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

    Returns:
        dict: ``total_ms``, ``by_type`` (keyed ``type/exec_type``) and
        ``top_nodes`` (ms per run, largest first).
    """
    import openvino as ov
    import openvino.properties as props
    import openvino.properties.hint as hints
    core = ov.Core()
    compiled = core.compile_model(
        core.read_model(model_file), 'CPU', {
            hints.performance_mode: hints.PerformanceMode.LATENCY,
            hints.inference_precision: getattr(ov.Type, precision),
            props.inference_num_threads: threads,
            props.enable_profiling: True
        })
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


def format_profile(profile: dict, title: Optional[str] = None,
                   min_share: float = 0.01) -> str:
    """Markdown table of a profile's ``by_type`` (types under
    ``min_share`` of the total summed into one row)."""
    total = profile['total_ms']
    lines = [f'**{title}** ({total:.1f} ms of operator time per run)'
             if title else f'{total:.1f} ms of operator time per run', '',
             '| operator | ms | share |', '| --- | --- | --- |']
    rest = 0.
    for name, ms in profile['by_type'].items():
        if ms < min_share * total:
            rest += ms
            continue
        lines.append(f'| {name} | {ms:.1f} | {ms / total:.0%} |')
    if rest:
        lines.append(f'| (others) | {rest:.1f} | {rest / total:.0%} |')
    return '\n'.join(lines)
