"""Detect objects in images and write the drawn images plus a JSON.

    python tools/demo.py CONFIG MODEL IMAGE_OR_DIR [...] \
        --out-dir work_dirs/demo/detections [--score-thr 0.3] \
        [--backend {pytorch,onnxruntime,openvino}]

For every input image ``NAME.EXT`` it writes ``OUT_DIR/NAME.jpg`` with the
boxes and class names drawn and one ``OUT_DIR/detections.json`` (see
:func:`mmyoloms.apis.detect_and_draw`). MODEL is a checkpoint for
``pytorch`` and the ``.onnx`` file of ``tools/export_onnx.py`` (or an
OpenVINO ``.xml``, e.g. its INT8 model) for ``onnxruntime`` / ``openvino``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmyoloms.apis import (BACKENDS, collect_images,  # noqa: E402
                           detect_and_draw, init_backend)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw detections on images and dump them as JSON')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint', metavar='model',
        help='checkpoint (pytorch) or exported model (.onnx / .xml)')
    parser.add_argument(
        'inputs', nargs='+', help='image files and/or folders of images')
    parser.add_argument(
        '--out-dir', required=True, help='where drawn images and JSON go')
    parser.add_argument(
        '--backend', choices=sorted(BACKENDS), default='pytorch',
        help='inference backend')
    parser.add_argument('--device', default='cpu', help='torch device')
    parser.add_argument(
        '--threads', type=int,
        help='threads of the onnxruntime / openvino runtime (default: '
        'the runtime\'s choice)')
    parser.add_argument(
        '--score-thr', type=float, default=0.3,
        help='keep detections scoring at least this')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not 0 <= args.score_thr <= 1:
        raise ValueError(f'--score-thr must be in [0, 1], got '
                         f'{args.score_thr}')
    images = collect_images(args.inputs)  # bad inputs fail before loading
    detector = init_backend(args.backend, args.config, args.checkpoint,
                            args.device, args.threads)
    return detect_and_draw(detector, images, args.out_dir, args.score_thr)


if __name__ == '__main__':
    main()
