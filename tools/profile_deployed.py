"""Where the time of a deployed graph goes: per-operator-type time in
onnxruntime (its profiler) and OpenVINO (its performance counters).

Feeds each model a seeded random float32 input (standard normal, like a
preprocessed image) of shape (1, 3, H, W): the graph's own size where it is
fixed, else ``--shape`` (default 640 640). Prints, per model and backend,
a Markdown table of time by operator type and one of the slowest nodes;
``--out`` writes them all as JSON.

Examples (2 threads, 10 profiled runs after 3 warm-up runs)::

    # the exported detector (tools/export_onnx.py) on both runtimes
    python tools/profile_deployed.py work_dirs/xs/yoloms-xs.onnx \\
        --backend onnxruntime openvino --threads 2 --runs 10 --top 15 \\
        --out work_dirs/xs/profile.json
    # a dynamic-shape graph at 320x320, next to its OpenVINO INT8 model
    python tools/profile_deployed.py work_dirs/xs/yoloms-xs_dynamic.onnx \\
        --shape 320 320 --backend onnxruntime openvino
    python tools/profile_deployed.py work_dirs/xs/yoloms-xs_int8.xml \\
        --backend openvino

OpenVINO's ``.xml`` models are profiled by the ``openvino`` backend only.
The time of NMS depends on the input (random noise yields few boxes), so
decoding and NMS rows are indicative only; use ``tools/benchmark.py`` for
latency.
"""
import argparse
import json
import os
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmyoloms.deploy.ov import PRECISIONS  # noqa: E402
from mmyoloms.profiling import (format_operator_profile,  # noqa: E402
                                format_top_nodes, input_shape,
                                profile_onnxruntime, profile_openvino)

BACKENDS = dict(onnxruntime=profile_onnxruntime, openvino=profile_openvino)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('models', nargs='+', metavar='MODEL',
                        help='.onnx files (or OpenVINO .xml for openvino)')
    parser.add_argument('--backend', nargs='+', default=['onnxruntime'],
                        choices=list(BACKENDS),
                        help='runtimes to profile in (default: onnxruntime)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--runs', type=int, default=10,
                        help='profiled runs (times are per run)')
    parser.add_argument('--warmup', type=int, default=3,
                        help='runs before the profiled ones, left out')
    parser.add_argument(
        '--shape', nargs=2, type=int, metavar=('H', 'W'),
        help='input size of graphs with a dynamic size (default 640 640); '
        'a graph with a fixed size takes its own, and a different --shape '
        'is an error')
    parser.add_argument('--top', type=int, default=15,
                        help='slowest nodes to list')
    parser.add_argument('--precision', default='f32', choices=PRECISIONS,
                        help='OpenVINO inference precision hint')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random input')
    parser.add_argument('--out', help='JSON report')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # every file and shape is checked before the first (slow) profile
    shapes = {m: input_shape(m, args.shape) for m in args.models}
    for model in args.models:
        if 'onnxruntime' in args.backend and not model.endswith('.onnx'):
            raise ValueError(f'onnxruntime profiles .onnx files, got {model}')
    results = []
    for model in args.models:
        inputs = np.random.default_rng(args.seed).standard_normal(
            shapes[model], dtype=np.float32)
        for backend in args.backend:
            kwargs = dict(threads=args.threads, runs=args.runs,
                          warmup=args.warmup, top=args.top)
            if backend == 'openvino':
                kwargs['precision'] = args.precision
            profile = BACKENDS[backend](model, inputs, **kwargs)
            results.append(dict(model=model, backend=backend,
                                shape=list(shapes[model]), **profile))
            title = (f'{osp.basename(model)}, {backend}, '
                     f'{"x".join(map(str, shapes[model]))}')
            print(format_operator_profile(profile, title))
            print()
            print(format_top_nodes(profile))
            print()
    report = dict(
        settings=dict(
            command=' '.join(['python tools/profile_deployed.py'] +
                             list(sys.argv[1:] if argv is None else argv)),
            threads=args.threads, runs=args.runs, warmup=args.warmup,
            top=args.top, precision=args.precision, seed=args.seed),
        results=results)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(report, f, indent=2)
        print(f'JSON report: {args.out}')
    return report


if __name__ == '__main__':
    main()
