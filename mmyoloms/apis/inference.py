"""Inference backends behind one interface, for the demo, the deployed-model
evaluation and anything else that detects on images.

A backend is built from ``(config, model_file, device, num_threads)`` and
offers:

- ``dataset_meta``: the class names (and palette) of the config;
- ``__call__(image_bgr) -> DetDataSample`` with ``pred_instances`` in the
  image's pixels;
- ``test_step(data)``: detections for a batch of the config's test
  dataloader, as mmengine's ``model.test_step`` (for COCO evaluation).

``pytorch`` runs a checkpoint with mmdet's ``init_detector`` /
``inference_detector``; ``onnxruntime`` and ``openvino`` run the graph of
``tools/export_onnx.py`` (float, or INT8 from its ``--int8`` option)
through :class:`~mmyoloms.deploy.ORTDetector` /
:class:`~mmyoloms.deploy.OVDetector`, which share the config's test
pipeline and the mapping of boxes back to the image.
"""
import copy
import logging
import os
import os.path as osp
from typing import List, Optional

import numpy as np
from mmdet.structures import DetDataSample


def _check_file(model_file: str, extensions: tuple, backend: str,
                what: str) -> None:
    if not model_file.lower().endswith(extensions):
        raise ValueError(f'--backend {backend} needs {what} as model file, '
                         f'got {model_file}')
    if not osp.isfile(model_file):
        raise FileNotFoundError(f'model file not found: {model_file}')


def _check_cpu(device: str, backend: str) -> None:
    if device != 'cpu':
        raise ValueError(
            f'the {backend} backend runs on cpu, got device {device!r}')


def _num_classes(model) -> Optional[int]:
    """The number of classes the detector's box head predicts (None when
    it has no ``bbox_head`` or ``roi_head.bbox_head``)."""
    head = getattr(model, 'bbox_head', None)
    if head is None:
        head = getattr(getattr(model, 'roi_head', None), 'bbox_head', None)
    return getattr(head, 'num_classes', None)


def _config_dataset_meta(cfg) -> dict:
    """The metainfo of the config's test dataset, without reading its
    annotations (as mmdet's ``init_detector`` takes the palette)."""
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset_cfg['lazy_init'] = True
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmdet')):
        return dict(DATASETS.build(dataset_cfg).metainfo)


def checked_dataset_meta(model, model_file: str) -> dict:
    """Class names that fit the model, for a model from ``init_detector``.

    mmdet takes the names from the checkpoint's ``meta['dataset_meta']``
    and, when a checkpoint has none (converted weights, a bare
    ``torch.save`` of the state dict), falls back to COCO's 80 names
    whatever the model predicts: a 5-class model would label its
    detections 'person', 'bicycle', ... When the names do not fit the
    head's class count, the names of the config's test dataset are used
    instead if they fit.

    Args:
        model: A detector from ``mmdet.apis.init_detector`` (with ``cfg``
            and ``dataset_meta``).
        model_file (str): Its checkpoint, for the error message.

    Returns:
        dict: ``dataset_meta`` with ``classes`` that fit the model.

    Raises:
        ValueError: Neither the checkpoint's nor the config's names fit.
    """
    from mmengine.logging import print_log
    meta = dict(model.dataset_meta)
    num_classes = _num_classes(model)
    names = list(meta.get('classes', []))
    if num_classes is None or len(names) == num_classes:
        return meta
    config_meta = _config_dataset_meta(model.cfg)
    config_names = list(config_meta.get('classes', []))
    if len(config_names) != num_classes:
        raise ValueError(
            f'the model predicts {num_classes} classes, but checkpoint '
            f'{model_file} names {len(names)} ({names[:3]}...) and the '
            f"config's test dataset {len(config_names)}: use a checkpoint "
            'trained with this config, or set the classes in the '
            "config's metainfo")
    print_log(
        f'checkpoint {model_file} names {len(names)} classes, the model '
        f"predicts {num_classes}: using the config's class names "
        f'{config_names}', logger='current', level=logging.WARNING)
    meta['classes'] = config_names
    if config_meta.get('palette') is not None:
        meta['palette'] = config_meta['palette']
    return meta


class PytorchBackend:
    """A config + checkpoint through mmdet's inference API.

    The class names are the checkpoint's (as mmdet reads them), or the
    config's where those do not fit the model
    (:func:`checked_dataset_meta`).

    Args:
        config (str or Config): Config file or object.
        model_file (str): Checkpoint (``.pth``).
        device (str): Torch device. Defaults to ``'cpu'``.
        num_threads (int, optional): Unused by PyTorch here (set
            ``torch.set_num_threads``); must be None. Defaults to None.
    """

    def __init__(self,
                 config: str,
                 model_file: str,
                 device: str = 'cpu',
                 num_threads: Optional[int] = None) -> None:
        from mmdet.apis import init_detector
        if num_threads is not None:
            raise ValueError('the pytorch backend takes its threads from '
                             'torch.set_num_threads, not num_threads')
        _check_file(model_file, ('.pth', '.pt'), 'pytorch',
                    'a checkpoint (.pth)')
        self.model = init_detector(config, model_file, device=device)
        self.model.dataset_meta = checked_dataset_meta(self.model, model_file)
        self.dataset_meta = self.model.dataset_meta

    def __call__(self, image: np.ndarray) -> DetDataSample:
        from mmdet.apis import inference_detector
        return inference_detector(self.model, image)

    def test_step(self, data: dict) -> List[DetDataSample]:
        return self.model.test_step(data)


class _DeployedBackend:
    """Common part of the backends that run an exported graph."""

    def __init__(self, detector) -> None:
        self.detector = detector
        self.dataset_meta = detector.dataset_meta

    @property
    def shape(self):
        """``(H, W)`` the graph takes (None: the config's scale)."""
        return self.detector.shape

    def __call__(self, image: np.ndarray) -> DetDataSample:
        return self.detector([image])[0]

    def test_step(self, data: dict) -> List[DetDataSample]:
        return self.detector.test_step(data)


class OnnxruntimeBackend(_DeployedBackend):
    """An ``.onnx`` file from ``tools/export_onnx.py`` on onnxruntime.

    Args:
        config (str): The config the model was exported from.
        model_file (str): The ``.onnx`` file (float or INT8 QDQ).
        device (str): Only ``'cpu'``. Defaults to ``'cpu'``.
        num_threads (int, optional): Intra-op threads. Defaults to None.
    """

    def __init__(self,
                 config: str,
                 model_file: str,
                 device: str = 'cpu',
                 num_threads: Optional[int] = None) -> None:
        from mmyoloms.deploy import ORTDetector
        _check_cpu(device, 'onnxruntime')
        _check_file(model_file, ('.onnx', ), 'onnxruntime',
                    'the .onnx file written by tools/export_onnx.py')
        super().__init__(
            ORTDetector(model_file, config, num_threads=num_threads))


class OpenVINOBackend(_DeployedBackend):
    """An ``.onnx`` file from ``tools/export_onnx.py``, or an OpenVINO IR
    (``.xml``, e.g. its INT8 model), on OpenVINO's CPU plugin (float32
    inference precision, latency hint).

    Args:
        config (str): The config the model was exported from.
        model_file (str): ``.onnx`` or ``.xml`` file.
        device (str): Only ``'cpu'``. Defaults to ``'cpu'``.
        num_threads (int, optional): Inference threads. Defaults to None.
    """

    def __init__(self,
                 config: str,
                 model_file: str,
                 device: str = 'cpu',
                 num_threads: Optional[int] = None) -> None:
        from mmyoloms.deploy.ov import OVDetector
        _check_cpu(device, 'openvino')
        _check_file(
            model_file, ('.onnx', '.xml'), 'openvino',
            'the .onnx file written by tools/export_onnx.py or an .xml IR')
        super().__init__(
            OVDetector(model_file, config, num_threads=num_threads))


#: Backend name -> class.
BACKENDS = dict(
    pytorch=PytorchBackend,
    onnxruntime=OnnxruntimeBackend,
    openvino=OpenVINOBackend)


def init_backend(backend: str,
                 config: str,
                 model_file: str,
                 device: str = 'cpu',
                 num_threads: Optional[int] = None):
    """Build an inference backend by name.

    Args:
        backend (str): One of :data:`BACKENDS`.
        config (str): Config file (or ``package::path``).
        model_file (str): Checkpoint for ``pytorch``; ``.onnx`` (or
            OpenVINO ``.xml``) for the deployed backends.
        device (str): Torch device (deployed backends: ``'cpu'`` only).
            Defaults to ``'cpu'``.
        num_threads (int, optional): Threads of a deployed runtime.
            Defaults to None (the runtime's choice).

    Returns:
        A backend object (see the module docstring).
    """
    if backend not in BACKENDS:
        raise ValueError(f'unknown backend {backend!r}: expected one of '
                         f'{sorted(BACKENDS)}')
    return BACKENDS[backend](config, model_file, device, num_threads)


IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp')


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
    """The detections that are drawn (:func:`select_detections`), as
    JSON-ready dicts."""
    from mmyoloms.visualization import select_detections
    pred = select_detections(sample, score_thr)
    records = []
    for bbox, score, label in zip(pred.bboxes.tolist(), pred.scores.tolist(),
                                  pred.labels.tolist()):
        records.append(
            dict(bbox=[round(v, 2) for v in bbox], score=round(score, 4),
                 label=int(label), **{'class': classes[int(label)]}))
    return records


def detect_and_draw(detector,
                    inputs: List[str],
                    out_dir: str,
                    score_thr: float = 0.3,
                    log=print) -> List[dict]:
    """Detect on image files and folders, draw and dump the detections.

    For every input image ``NAME.EXT`` it writes ``out_dir/NAME.jpg`` with
    the boxes and class names drawn by mmdet's ``DetLocalVisualizer`` and
    one ``out_dir/detections.json``::

        [{"image": "path/NAME.EXT", "width": W, "height": H,
          "detections": [{"bbox": [x1, y1, x2, y2], "score": s,
                          "label": i, "class": "name"}, ...]}, ...]

    with boxes in the input image's pixels: the detections scoring at
    least ``score_thr`` whose boxes have positive width and height.

    Args:
        detector: A backend (:func:`init_backend`).
        inputs (list[str]): Image files and/or folders (not recursive).
        out_dir (str): Where drawn images and JSON go.
        score_thr (float): Drawing threshold. Defaults to 0.3.
        log (callable): Progress messages. Defaults to ``print``.

    Returns:
        list[dict]: The JSON records.
    """
    import json

    import mmcv

    from mmyoloms.visualization import draw_detections
    if not 0 <= score_thr <= 1:
        raise ValueError(f'score_thr must be in [0, 1], got {score_thr}')
    images = collect_images(inputs)
    names = [osp.splitext(osp.basename(p))[0] + '.jpg' for p in images]
    if len(set(names)) != len(names):
        raise ValueError('inputs must have distinct file names (the drawn '
                         f'images share {out_dir}): {images}')
    classes = list(detector.dataset_meta['classes'])
    os.makedirs(out_dir, exist_ok=True)
    results = []
    for path, name in zip(images, names):
        image = mmcv.imread(path)
        if image is None:
            raise ValueError(f'{path} is not a readable image')
        sample = detector(image)
        drawn = draw_detections(
            mmcv.bgr2rgb(image), sample, detector.dataset_meta, score_thr)
        mmcv.imwrite(mmcv.rgb2bgr(drawn), osp.join(out_dir, name))
        results.append(
            dict(image=path, width=image.shape[1], height=image.shape[0],
                 detections=to_records(sample, classes, score_thr)))
        log(f'{path}: {len(results[-1]["detections"])} detections')
    out_json = osp.join(out_dir, 'detections.json')
    with open(out_json, 'w', encoding='utf-8') as f:
        json.dump(results, f, indent=1)
    log(f'wrote {len(results)} drawn images and {out_json}')
    return results
