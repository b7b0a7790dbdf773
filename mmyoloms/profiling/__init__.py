"""Measuring speed: one timing protocol for every latency figure, the
latency of a built detector on each backend, per-operator profiles of
deployed graphs, the phases of a training step, and their tables.

- :mod:`.protocol`: :class:`TimingProtocol`, :func:`pinned_threads`,
  :func:`summarize`;
- :mod:`.latency`: :func:`measure_latency` (one model, one backend ->
  :class:`LatencyRecord` per stage) and its parts;
- :mod:`.benchmark`: :func:`run_benchmark` (models built from configs,
  timed side by side);
- :mod:`.operators`: :func:`profile_onnxruntime`,
  :func:`profile_openvino`;
- :mod:`.training`: :func:`profile_training`,
  :func:`compare_training_speed`;
- :mod:`.report`: the Markdown tables.
"""
from .benchmark import environment, prepare_benchmark_model, run_benchmark
from .latency import (BACKENDS, STAGES, GraphCache, LatencyRecord,
                      measure_latency, network_input, prepare_stages,
                      synthetic_image, time_interleaved)
from .operators import (input_shape, profile_onnxruntime, profile_openvino,
                        summarize_ort_events)
from .protocol import (TimingProtocol, non_negative_int, pinned_threads,
                       summarize, time_callable)
from .report import (format_latency_table, format_operator_profile,
                     format_top_nodes, format_training_comparison,
                     format_training_profile)
from .training import (OP_GROUPS, PHASES, compare_training_speed,
                       profile_in_subprocess, profile_training,
                       profiling_config)

__all__ = [
    'TimingProtocol', 'non_negative_int', 'pinned_threads', 'summarize',
    'time_callable', 'BACKENDS', 'STAGES', 'GraphCache', 'LatencyRecord',
    'measure_latency', 'network_input', 'prepare_stages', 'synthetic_image',
    'time_interleaved', 'environment', 'prepare_benchmark_model',
    'run_benchmark', 'input_shape', 'profile_onnxruntime',
    'profile_openvino', 'summarize_ort_events', 'format_latency_table',
    'format_operator_profile', 'format_top_nodes',
    'format_training_comparison', 'format_training_profile', 'OP_GROUPS',
    'PHASES', 'compare_training_speed', 'profile_in_subprocess',
    'profile_training', 'profiling_config'
]
