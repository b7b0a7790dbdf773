"""Detect objects in images and write the drawn images plus a JSON.

    python tools/demo.py CONFIG CHECKPOINT IMAGE_OR_DIR [...] \
        --out-dir work_dirs/demo/detections [--score-thr 0.3]

For every input image ``NAME.EXT`` it writes ``OUT_DIR/NAME.jpg`` with the
boxes and class names drawn by mmdet's ``DetLocalVisualizer``, and one
``OUT_DIR/detections.json``::

    [{"image": "path/NAME.EXT", "width": W, "height": H,
      "detections": [{"bbox": [x1, y1, x2, y2], "score": s,
                      "label": i, "class": "name"}, ...]}, ...]

with boxes in the input image's pixels: the detections scoring at least
``--score-thr`` whose boxes have positive width and height (a model early in
training also emits inverted boxes, which are left out). A folder is
searched (not recursively) for image files.

Backends: ``pytorch`` runs the checkpoint with mmdet's
``init_detector`` / ``inference_detector``; ``onnxruntime`` runs the ``.onnx``
file of ``tools/export_onnx.py`` (given as CHECKPOINT) through
``mmyoloms.deploy.ORTDetector``. A backend is a class built from
``(config, checkpoint, device)`` with a ``dataset_meta`` dict and a
``__call__(image_bgr) -> DetDataSample`` whose ``pred_instances`` are in
the image's pixels; a new one is added to ``BACKENDS``.
"""
import argparse
import json
import os
import os.path as osp
from typing import List

import mmcv
import numpy as np

from mmdet.structures import DetDataSample
from mmyoloms.visualization import draw_detections, select_detections

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp')


class PytorchBackend:
    """Run a config + checkpoint with mmdet's inference API.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file.
        device (str): Torch device. Defaults to 'cpu'.
    """

    def __init__(self, config: str, checkpoint: str,
                 device: str = 'cpu') -> None:
        from mmdet.apis import init_detector
        self.model = init_detector(config, checkpoint, device=device)
        self.dataset_meta = self.model.dataset_meta

    def __call__(self, image: np.ndarray) -> DetDataSample:
        from mmdet.apis import inference_detector
        return inference_detector(self.model, image)


class OnnxruntimeBackend:
    """Run an ONNX file from ``tools/export_onnx.py`` with onnxruntime.

    Args:
        config (str): The config the model was exported from (test
            pipeline, data preprocessor, class names).
        checkpoint (str): The ``.onnx`` file.
        device (str): Only ``'cpu'``. Defaults to 'cpu'.
    """

    def __init__(self, config: str, checkpoint: str,
                 device: str = 'cpu') -> None:
        if device != 'cpu':
            raise ValueError(
                f'the onnxruntime backend runs on cpu, got --device {device}')
        if not checkpoint.endswith('.onnx'):
            raise ValueError(
                f'--backend onnxruntime needs the .onnx file written by '
                f'tools/export_onnx.py as CHECKPOINT, got {checkpoint}')
        from mmyoloms.deploy import ORTDetector
        self.detector = ORTDetector(checkpoint, config)
        self.dataset_meta = self.detector.dataset_meta

    def __call__(self, image: np.ndarray) -> DetDataSample:
        return self.detector([image])[0]


BACKENDS = dict(pytorch=PytorchBackend, onnxruntime=OnnxruntimeBackend)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Draw detections on images and dump them as JSON')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        'inputs', nargs='+', help='image files and/or folders of images')
    parser.add_argument(
        '--out-dir', required=True, help='where drawn images and JSON go')
    parser.add_argument(
        '--backend', choices=sorted(BACKENDS), default='pytorch',
        help='inference backend')
    parser.add_argument('--device', default='cpu', help='torch device')
    parser.add_argument(
        '--score-thr', type=float, default=0.3,
        help='keep detections scoring at least this')
    return parser.parse_args()


def collect_images(inputs: List[str]) -> List[str]:
    """Expand folders into their image files (sorted, not recursive).

    Raises:
        FileNotFoundError: An input does not exist.
        ValueError: No image was found.
    """
    paths = []
    for item in inputs:
        if osp.isdir(item):
            paths += [
                osp.join(item, name) for name in sorted(os.listdir(item))
                if name.lower().endswith(IMAGE_EXTENSIONS)
            ]
        elif osp.isfile(item):
            paths.append(item)
        else:
            raise FileNotFoundError(f'input {item} does not exist')
    if not paths:
        raise ValueError(f'no image files found in {inputs}')
    return paths


def to_records(sample: DetDataSample, classes: List[str],
               score_thr: float) -> List[dict]:
    """The detections that are drawn, as JSON-ready dicts."""
    pred = select_detections(sample, score_thr)
    records = []
    for bbox, score, label in zip(pred.bboxes.tolist(), pred.scores.tolist(),
                                  pred.labels.tolist()):
        records.append(
            dict(bbox=[round(v, 2) for v in bbox], score=round(score, 4),
                 label=int(label), **{'class': classes[int(label)]}))
    return records


def main():
    args = parse_args()
    if not 0 <= args.score_thr <= 1:
        raise ValueError(f'--score-thr must be in [0, 1], got '
                         f'{args.score_thr}')
    images = collect_images(args.inputs)
    detector = BACKENDS[args.backend](args.config, args.checkpoint,
                                      args.device)
    classes = list(detector.dataset_meta['classes'])
    os.makedirs(args.out_dir, exist_ok=True)
    names = [osp.splitext(osp.basename(p))[0] + '.jpg' for p in images]
    if len(set(names)) != len(names):
        raise ValueError('inputs must have distinct file names (the drawn '
                         f'images share {args.out_dir}): {images}')
    results = []
    for path, name in zip(images, names):
        image = mmcv.imread(path)
        if image is None:
            raise ValueError(f'{path} is not a readable image')
        sample = detector(image)
        drawn = draw_detections(
            mmcv.bgr2rgb(image), sample, detector.dataset_meta,
            args.score_thr)
        mmcv.imwrite(mmcv.rgb2bgr(drawn), osp.join(args.out_dir, name))
        results.append(
            dict(image=path, width=image.shape[1], height=image.shape[0],
                 detections=to_records(sample, classes, args.score_thr)))
        print(f'{path}: {len(results[-1]["detections"])} detections')
    out_json = osp.join(args.out_dir, 'detections.json')
    with open(out_json, 'w', encoding='utf-8') as f:
        json.dump(results, f, indent=1)
    print(f'wrote {len(results)} drawn images and {out_json}')


if __name__ == '__main__':
    main()
