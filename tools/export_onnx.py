"""Export a detector to ONNX with box decoding and NMS in the graph.

Input ``images`` (N x 3 x H x W float, preprocessed as the config's data
preprocessor does); outputs ``num_dets`` (N x 1), ``boxes`` (N x K x 4,
xyxy in input pixels), ``scores`` (N x K), ``labels`` (N x K). The model is
put in deploy mode first (BN folded). NMS settings default to the config's
``model.test_cfg``.

Example::

    python tools/export_onnx.py configs/yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py \\
        work_dirs/xs/epoch_300.pth --out work_dirs/xs/yoloms-xs.onnx --shape 640 640
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmyoloms.deploy import (EXPORTERS, End2EndDetector,  # noqa: E402
                             build_detector, deploy_model, export_onnx,
                             nms_settings)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file (or package::path)')
    parser.add_argument(
        'checkpoint', nargs='?',
        help='checkpoint file (without one: random weights, for tests)')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--shape', nargs=2, type=int, default=[640, 640],
                        metavar=('H', 'W'), help='input size')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--score-thr', type=float)
    parser.add_argument('--iou-thr', type=float)
    parser.add_argument('--pre-topk', type=int)
    parser.add_argument('--keep-topk', type=int)
    parser.add_argument(
        '--dynamic', action='store_true',
        help='dynamic batch, height and width (multiples of the largest '
        'stride); dynamo exporter only')
    parser.add_argument(
        '--exporter', default='dynamo', choices=EXPORTERS,
        help='torch exporter (both write NonMaxSuppression; only dynamo '
        'handles --dynamic)')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument(
        '--channel-multiple', type=int, default=0,
        help='zero-pad odd hidden widths to this multiple, e.g. 16 (exact; '
        'measured neutral on YOLO-MS-S in onnxruntime); 0: no padding')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = build_detector(args.config, args.checkpoint)
    settings = nms_settings(
        model.bbox_head.test_cfg,
        score_thr=args.score_thr,
        iou_thr=args.iou_thr,
        pre_topk=args.pre_topk,
        keep_topk=args.keep_topk)
    deploy_model(
        model,
        channels_last=False,
        channel_multiple=args.channel_multiple or None)
    export_onnx(
        End2EndDetector(model, **settings),
        args.out,
        tuple(args.shape),
        batch=args.batch,
        dynamic=args.dynamic,
        exporter=args.exporter,
        opset_version=args.opset)
    print(f'exported {args.out} ({args.exporter}, shape {tuple(args.shape)}'
          f'{", dynamic" if args.dynamic else ""}, nms {settings})')
    return args.out


if __name__ == '__main__':
    main()
