"""Command-line options shared by the deploy tools, declared once:
NMS overrides (``tools/export_onnx.py``, ``tools/benchmark.py``) and INT8
calibration (``tools/export_onnx.py``, ``tools/test_deployed.py``)."""
import argparse

from .quantize import OVERFLOW_FIXES, SPLITS

NMS_OPTIONS = ('score_thr', 'iou_thr', 'pre_topk', 'keep_topk')


def add_nms_arguments(parser: argparse.ArgumentParser) -> None:
    """``--score-thr --iou-thr --pre-topk --keep-topk``: override the
    config's ``model.test_cfg`` (read back by :func:`nms_overrides`)."""
    group = parser.add_argument_group(
        'NMS', 'override the config\'s model.test_cfg')
    group.add_argument('--score-thr', type=float)
    group.add_argument('--iou-thr', type=float)
    group.add_argument('--pre-topk', type=int)
    group.add_argument('--keep-topk', type=int)


def nms_overrides(args: argparse.Namespace) -> dict:
    """The NMS options given on the command line, as keyword arguments of
    :func:`mmyoloms.deploy.nms_settings`."""
    return {
        key: getattr(args, key)
        for key in NMS_OPTIONS if getattr(args, key) is not None
    }


def add_int8_arguments(parser: argparse.ArgumentParser) -> None:
    """``--calib-images --calib-split --calib-seed --overflow-fix
    --full-range``: how an INT8 model is calibrated
    (:func:`mmyoloms.deploy.quantize_model`)."""
    group = parser.add_argument_group('INT8 calibration')
    group.add_argument(
        '--calib-images', type=int, default=300,
        help='calibration images, spread over the config\'s dataset '
        '(default 300)')
    group.add_argument('--calib-split', default='train', choices=SPLITS,
                       help='dataset split to calibrate on')
    group.add_argument('--calib-seed', type=int, default=0,
                       help='seed of the choice of calibration images')
    group.add_argument(
        '--overflow-fix', default='enable', choices=OVERFLOW_FIXES,
        help='NNCF overflow fix (7-bit weights): "enable" (default) runs '
        'correctly on CPUs without VNNI, where 8-bit products can '
        'saturate; "disable" only for CPUs with VNNI/AMX')
    group.add_argument(
        '--full-range', action='store_true',
        help='onnxruntime: 8-bit weights (default 7-bit, reduce_range, '
        'which runs correctly on CPUs without VNNI); only for CPUs with '
        'VNNI/AMX')
