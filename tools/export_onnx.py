"""Export a detector to ONNX with box decoding and NMS in the graph.

Input ``images`` (N x 3 x H x W float, preprocessed as the config's data
preprocessor does); outputs ``num_dets`` (N x 1), ``boxes`` (N x K x 4,
xyxy in input pixels), ``scores`` (N x K), ``labels`` (N x K). The model is
put in deploy mode first (BN folded, MS-Blocks slice-free). NMS settings
default to the config's ``model.test_cfg``.

With ``--int8 FILE`` an INT8 model is written too, calibrated on
``--calib-images N`` images spread over the config's dataset
(``--calib-split``, default train; ``--calib-seed``): ``FILE.xml`` by NNCF for OpenVINO, ``FILE.onnx`` by
onnxruntime's static QDQ quantization; decoding and NMS stay float.

Example::

    python tools/export_onnx.py configs/yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py \\
        work_dirs/xs/epoch_300.pth --out work_dirs/xs/yoloms-xs.onnx --shape 640 640 \\
        [--int8 work_dirs/xs/yoloms-xs_int8.xml --calib-images 300]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmyoloms.deploy import (EXPORTERS, End2EndDetector,  # noqa: E402
                             build_detector, deploy_model, export_onnx,
                             nms_settings, quantize_model)
from mmyoloms.deploy.cli import (add_int8_arguments,  # noqa: E402
                                 add_nms_arguments, nms_overrides)


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
    add_nms_arguments(parser)
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
        '--keep-slicing', action='store_true',
        help='keep the MS-Block channel slicing (default: one 1x1 conv per '
        'branch, the same values without Slice nodes)')
    parser.add_argument(
        '--channel-multiple', type=int, default=0,
        help='zero-pad odd hidden widths to this multiple, e.g. 16 (exact; '
        'YOLO-MS-S 5%% faster on onnxruntime, no change on OpenVINO); 0: '
        'no padding')
    parser.add_argument(
        '--int8', metavar='FILE',
        help='also write an INT8 model: .xml (NNCF, OpenVINO) or .onnx '
        '(onnxruntime QDQ)')
    add_int8_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.int8 and args.dynamic:
        raise ValueError('--int8 needs a static shape (no --dynamic)')
    model = build_detector(args.config, args.checkpoint)
    settings = nms_settings(model.bbox_head.test_cfg, **nms_overrides(args))
    deploy_model(model, channels_last=False,
                 slice_free=not args.keep_slicing,
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
    if args.int8:
        quantize_model(args.out, args.int8, args.config, args.calib_images,
                       args.calib_split, args.overflow_fix,
                       not args.full_range, args.calib_seed)
        print(f'quantized {args.int8} ({args.calib_images} '
              f'{args.calib_split} images)')
    return args.out


if __name__ == '__main__':
    main()
