"""COCO AP of a deployed detector: the config's val set through the graph,
evaluated by the config's evaluator (mmdet's CocoMetric).

One model::

    python tools/test_deployed.py CONFIG MODEL --backend {onnxruntime,openvino,pytorch}

MODEL is the ``.onnx`` of ``tools/export_onnx.py`` (float or INT8 QDQ),
an OpenVINO ``.xml`` (e.g. the INT8 model of ``--int8``) or, for
``pytorch``, the checkpoint. Every resize of the val pipeline targets the
graph's input shape and the batch-shape policy is off, so all backends see
the same inputs.

All of them from one checkpoint (eager, onnxruntime and OpenVINO float32,
INT8), side by side::

    python tools/test_deployed.py CONFIG CHECKPOINT --compare \\
        --work-dir work_dirs/deploy_ap --calib-images 300 [--int8 openvino onnxruntime]
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmyoloms.apis import BACKENDS, init_backend  # noqa: E402
from mmyoloms.deploy.evaluate import (compare_backends,  # noqa: E402
                                      config_shape, evaluate,
                                      format_ap_table)
from mmyoloms.deploy.cli import add_int8_arguments  # noqa: E402
from mmyoloms.deploy.utils import load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file (or package::path)')
    parser.add_argument('model', help='.onnx / .xml model, or a checkpoint '
                        '(--backend pytorch, --compare)')
    parser.add_argument('--backend', choices=sorted(BACKENDS),
                        default='onnxruntime')
    parser.add_argument('--threads', type=int,
                        help='runtime threads (default: the runtime\'s)')
    parser.add_argument('--split', default='val', choices=('val', 'test'))
    parser.add_argument(
        '--shape', nargs=2, type=int, metavar=('H', 'W'),
        help='input size (default: the graph\'s, or the config\'s scale)')
    parser.add_argument(
        '--compare', action='store_true',
        help='MODEL is a checkpoint: evaluate it eager, export it and '
        'evaluate onnxruntime / OpenVINO float32 and INT8')
    parser.add_argument('--work-dir', default='work_dirs/test_deployed',
                        help='--compare: exported models and ap.json')
    parser.add_argument('--int8', nargs='*', default=['openvino'],
                        choices=('openvino', 'onnxruntime'),
                        help='--compare: INT8 routes')
    add_int8_arguments(parser)
    parser.add_argument('--out', help='JSON file for the metrics')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.compare:
        rows = compare_backends(
            args.config, args.model, args.work_dir, args.shape,
            args.calib_images, args.calib_split, args.int8,
            args.overflow_fix, not args.full_range, args.threads,
            args.split, calib_seed=args.calib_seed)
        print(format_ap_table(rows))
        return rows
    detector = init_backend(args.backend, args.config, args.model,
                            num_threads=args.threads)
    shape = args.shape or getattr(detector, 'shape', None)
    if shape is None:
        shape = config_shape(load_config(args.config))
    metrics = evaluate(detector, args.config, shape, split=args.split)
    row = dict(model=f'{args.backend} {osp.basename(args.model)}',
               metrics=metrics)
    print(format_ap_table([row]))
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(dict(vars(args), metrics=metrics), f, indent=2)
    return metrics


if __name__ == '__main__':
    main()
