"""Latency of a detector (and peers) on PyTorch, deploy mode, onnxruntime
and OpenVINO, in float32 and INT8.

Times (a) the network forward, (b) forward + decode + NMS and (c) end to
end from a decoded image (test pipeline included): median, p90 and
images/s over interleaved rounds. Prints a Markdown table and writes JSON.

Backends (``--backend``, default all): ``pytorch`` (eager),
``pytorch-deploy`` (BN folded, slice-free blocks, channels_last),
``onnxruntime``, ``openvino``, ``onnxruntime-int8``, ``openvino-int8``.

Examples (2 threads, 640x640 by default)::

    # YOLO-MS-XS against RTMDet-tiny
    python tools/benchmark.py configs/yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py \\
        --peers mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py \\
        --backend pytorch pytorch-deploy onnxruntime openvino openvino-int8 \\
        --threads 2
    # the MS-Block detectors of YOLOv6 and YOLOv8, side by side
    python tools/benchmark.py configs/yolov6_ms/yolov6-ms_t_syncbn_fast_8xb32-400e_coco.py \\
        --peers configs/yolov8_ms/yolov8-ms_n_syncbn_fast_8xb16-500e_coco.py \\
        --backend pytorch pytorch-deploy onnxruntime onnxruntime-int8 openvino \\
        --threads 2 --work-dir work_dirs/bench_family
    # a trained checkpoint, with the MS-Block slicing kept as a second row
    python tools/benchmark.py CONFIG CHECKPOINT --backend onnxruntime openvino \\
        --with-sliced

Without a checkpoint the weights are random (seeded) with BN statistics
calibrated on the benchmark image, which is enough for timing; the INT8
backends are calibrated on the benchmark image too (their accuracy is
measured by tools/test_deployed.py).
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmyoloms.deploy.cli import (add_nms_arguments,  # noqa: E402
                                 nms_overrides)
from mmyoloms.deploy.export import EXPORTERS  # noqa: E402
from mmyoloms.profiling import (BACKENDS, format_latency_table,  # noqa: E402
                                run_benchmark)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file (or package::path)')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file')
    parser.add_argument(
        '--peers', nargs='+', default=[],
        help='more configs timed side by side in the same run (random '
        'weights), e.g. mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_'
        'coco.py')
    parser.add_argument(
        '--backend', nargs='+', default=list(BACKENDS), choices=BACKENDS,
        help='backends to time (default: all)')
    parser.add_argument('--shape', nargs=2, type=int, default=[640, 640],
                        metavar=('H', 'W'), help='network input size')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=10,
                        help='timed calls per entry and round')
    parser.add_argument('--rounds', type=int, default=3,
                        help='interleaved rounds over all entries')
    parser.add_argument('--warmup', type=int, default=3)
    add_nms_arguments(parser)
    parser.add_argument('--exporter', default='dynamo', choices=EXPORTERS)
    parser.add_argument(
        '--channel-multiple', type=int, default=0,
        help='zero-pad odd hidden widths of the deployed models to this '
        'multiple (default 0: no padding)')
    parser.add_argument(
        '--with-sliced', action='store_true',
        help='also time every model deployed with the MS-Block channel '
        'slicing kept (rows named MODEL-sliced), side by side')
    parser.add_argument('--work-dir', default='work_dirs/benchmark',
                        help='ONNX files and the JSON report go here')
    parser.add_argument('--out', help='JSON report (default: '
                        'WORK_DIR/benchmark.json)')
    return parser.parse_args(argv)


def _name(config: str) -> str:
    return osp.splitext(osp.basename(config.split('::')[-1]))[0]


def main(argv=None):
    args = parse_args(argv)
    deploy = dict(channel_multiple=args.channel_multiple or None)
    models = [dict(name=_name(args.config), config=args.config,
                   checkpoint=args.checkpoint, deploy=deploy)]
    models += [dict(name=_name(p), config=p, deploy=deploy)
               for p in args.peers]
    if args.with_sliced:
        models += [
            dict(m, name=m['name'] + '-sliced',
                 deploy=dict(deploy, slice_free=False))
            for m in list(models)
        ]
    report = run_benchmark(
        models,
        args.backend,
        shape=tuple(args.shape),
        batch=args.batch,
        threads=args.threads,
        repeat=args.repeat,
        rounds=args.rounds,
        warmup=args.warmup,
        work_dir=args.work_dir,
        nms_overrides=nms_overrides(args),
        exporter=args.exporter)
    report['settings']['command'] = ' '.join(
        ['python tools/benchmark.py'] + list(sys.argv[1:] if argv is None
                                              else argv))
    out = args.out or osp.join(args.work_dir, 'benchmark.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(report, f, indent=2)
    print(format_latency_table(report))
    print(f'JSON report: {out}')
    return report


if __name__ == '__main__':
    main()
