"""Parameters and FLOPs of a detector, counted by mmengine.analysis.

Example::

    python tools/get_flops.py configs/yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py --shape 640 640
    python tools/get_flops.py configs/yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py --deploy
    python tools/get_flops.py configs/yolov6_ms/yolov6-ms_t_syncbn_fast_8xb32-400e_coco.py --shape 640 640
    python tools/get_flops.py configs/yolov8_ms/yolov8-ms_n_syncbn_fast_8xb16-500e_coco.py --deploy
    python tools/get_flops.py mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py
    python tools/get_flops.py configs/mmdet/faster-rcnn_yoloms-s_fpn_1x_coco.py

FLOPs are multiply-accumulates of the network (backbone, neck, head; no
NMS), as in the YOLO-MS paper; mmyolo and mmdet detectors (two-stage ones
included) are counted by :func:`mmyoloms.analysis.get_complexity`.
``--shape`` defaults to 640x640. ``--deploy`` counts the deploy-mode model
(BN folded into the convs, YOLOv6-MS's RepVGG stem merged, MS-Block
slicing replaced by one 1x1 conv per branch).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmyoloms.analysis import get_complexity  # noqa: E402
from mmyoloms.deploy import build_detector  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file (or package::path)')
    parser.add_argument('--shape', nargs=2, type=int, default=[640, 640],
                        metavar=('H', 'W'), help='input size')
    parser.add_argument('--deploy', action='store_true',
                        help='count the deploy-mode model (BN folded)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = build_detector(args.config, calibrate=False)
    if args.deploy:
        from mmyoloms.deploy import deploy_model
        deploy_model(model, channels_last=False)
    info = get_complexity(model, tuple(args.shape))
    mode = 'deploy' if args.deploy else 'eager'
    print(f'{args.config} ({mode}, input 1x3x{args.shape[0]}x'
          f'{args.shape[1]}): params {info["params"]:,} '
          f'({info["params_str"]}), FLOPs {info["flops"]:,} '
          f'({info["flops_str"]})')
    return info


if __name__ == '__main__':
    main()
