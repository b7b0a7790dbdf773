"""COCO AP of a detector on any backend, through mmdet's ``CocoMetric``.

The config's val (or test) dataloader and evaluator run as in mmengine's
test loop; only the model is replaced by anything with a
``test_step(data) -> list[DetDataSample]``: an mmyolo detector, or a
:class:`~mmyoloms.deploy.detector.DeployedDetector` (onnxruntime,
OpenVINO, float or INT8).
"""
import copy
import os.path as osp
from typing import Callable, Dict, Optional, Sequence, Union

from mmengine.config import Config

# format_ap_table: the AP table of compare_backends' rows, imported from
# here by tools/test_deployed.py
from ..utils import format_ap_table  # noqa: F401
from .pipeline import set_pipeline_scale
from .utils import load_config, register_scopes

SPLITS = ('val', 'test')


def build_eval_dataloader(cfg: Config,
                          shape: Optional[Sequence[int]] = None,
                          batch_size: int = 1,
                          split: str = 'val',
                          num_workers: int = 0):
    """The config's ``{split}_dataloader`` for a fixed-shape model.

    Every resize and letterbox step targets ``shape`` and the batch-shape
    policy (a per-batch pad shape, which a graph exported for one shape
    cannot take) is removed, so that every backend sees the same inputs.

    Args:
        cfg (Config): Full config.
        shape (Sequence[int], optional): ``(H, W)``; None keeps the
            config's scale. Defaults to None.
        batch_size (int): Defaults to 1.
        split (str): ``'val'`` or ``'test'``. Defaults to ``'val'``.
        num_workers (int): Loader workers. Defaults to 0.

    Returns:
        torch.utils.data.DataLoader
    """
    from mmengine.runner import Runner
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    loader = copy.deepcopy(cfg.get(f'{split}_dataloader'))
    if loader is None:
        raise ValueError(f'the config has no {split}_dataloader')
    dataset = loader.dataset
    dataset.pipeline = set_pipeline_scale(dataset.pipeline, shape)
    dataset.pop('batch_shapes_cfg', None)
    loader.batch_size = batch_size
    loader.num_workers = num_workers
    loader.persistent_workers = False
    return Runner.build_dataloader(loader)


def evaluate(model,
             config: Union[str, Config],
             shape: Optional[Sequence[int]] = None,
             batch_size: int = 1,
             split: str = 'val',
             log: Callable[[str], None] = print) -> Dict[str, float]:
    """Run the config's val (or test) set through ``model`` and evaluate
    with the config's evaluator (mmdet's ``CocoMetric`` for COCO-format
    sets), which prints the COCO summary table.

    Args:
        model: Anything with ``test_step(data)`` returning
            ``DetDataSample``s with ``pred_instances`` in image pixels.
        config (str or Config): The model's config.
        shape (Sequence[int], optional): Network input ``(H, W)``; needed
            for a graph exported for one shape. Defaults to None.
        batch_size (int): Defaults to 1.
        split (str): ``'val'`` or ``'test'``. Defaults to ``'val'``.
        log (callable): Progress messages. Defaults to ``print``.

    Returns:
        dict: The evaluator's metrics (``coco/bbox_mAP`` ...).
    """
    import torch
    from mmengine.evaluator import Evaluator
    cfg = load_config(config)
    register_scopes(cfg)
    loader = build_eval_dataloader(cfg, shape, batch_size, split)
    evaluator = Evaluator(copy.deepcopy(cfg.get(f'{split}_evaluator')))
    evaluator.dataset_meta = loader.dataset.metainfo
    total = len(loader)
    with torch.no_grad():
        for index, data in enumerate(loader):
            outputs = model.test_step(data)
            evaluator.process(data_samples=outputs, data_batch=data)
            if (index + 1) % 50 == 0 or index + 1 == total:
                log(f'[{index + 1}/{total}]')
    return evaluator.evaluate(len(loader.dataset))


def model_kind(model_file: str) -> str:
    """``'checkpoint'`` (``.pth``), ``'onnx'`` or ``'openvino'`` (``.xml``)
    from a model file's extension."""
    ext = osp.splitext(model_file)[1].lower()
    kinds = {'.pth': 'checkpoint', '.onnx': 'onnx', '.xml': 'openvino'}
    if ext not in kinds:
        raise ValueError(f'unknown model file type {ext!r} of {model_file}: '
                         'expected a .pth checkpoint, an .onnx file or an '
                         'OpenVINO .xml')
    return kinds[ext]


def config_shape(cfg: Config) -> tuple:
    """``(H, W)`` of the first resize or letterbox step of the config's
    test pipeline (mmyolo writes scales as ``(W, H)``)."""
    from mmdet.utils import get_test_pipeline_cfg
    for step in get_test_pipeline_cfg(cfg):
        if 'scale' in step:
            width, height = step['scale']
            return int(height), int(width)
    raise ValueError('the test pipeline has no step with a scale: give the '
                     'input shape')


def compare_backends(config: Union[str, Config],
                     checkpoint: str,
                     work_dir: str,
                     shape: Optional[Sequence[int]] = None,
                     calib_images: int = 300,
                     calib_split: str = 'train',
                     int8: Sequence[str] = ('openvino', ),
                     overflow_fix: str = 'enable',
                     reduce_range: bool = True,
                     threads: Optional[int] = None,
                     split: str = 'val',
                     log: Callable[[str], None] = print,
                     calib_seed: int = 0,
                     bias_correction: str = 'fast') -> list:
    """COCO AP of one checkpoint in eager PyTorch, exported to ONNX on
    onnxruntime and OpenVINO (float32), and quantized to INT8, all on the
    same val set with the same preprocessing.

    Files written to ``work_dir``: ``model.onnx`` (deploy mode, NMS
    inside), ``model_int8.xml`` / ``model_int8.onnx``, ``ap.json``.

    Args:
        config (str or Config): The model's config.
        checkpoint (str): Trained weights.
        work_dir (str): Output folder.
        shape (Sequence[int], optional): ``(H, W)``. Defaults to None (the
            config's test scale).
        calib_images (int): INT8 calibration images. Defaults to 300.
        calib_split (str): Split they come from. Defaults to ``'train'``.
        int8 (Sequence[str]): INT8 routes, ``'openvino'`` (NNCF) and/or
            ``'onnxruntime'`` (QDQ). Defaults to ``('openvino', )``.
        overflow_fix (str): NNCF overflow fix. Defaults to ``'enable'``.
        reduce_range (bool): onnxruntime 7-bit weights. Defaults to True.
        threads (int, optional): Runtime threads. Defaults to None.
        split (str): Evaluation split. Defaults to ``'val'``.
        log (callable): Progress messages. Defaults to ``print``.
        calib_seed (int): Seed of the choice of calibration images.
            Defaults to 0.
        bias_correction (str): NNCF bias correction (``'fast'``,
            ``'full'``, ``'none'``; :func:`quantize_openvino`). Defaults
            to ``'fast'``.

    Returns:
        list[dict]: ``dict(model=..., backend=..., precision=...,
        file=..., metrics=...)`` per row.
    """
    import json
    import os

    from .deploy import deploy_model
    from .end2end import End2EndDetector, nms_settings
    from .export import export_onnx
    from .ort import ORTDetector
    from .ov import OVDetector
    from .quantize import quantize_model
    from .utils import build_detector
    for route in int8:
        if route not in ('openvino', 'onnxruntime'):
            raise ValueError('int8 routes are "openvino" and "onnxruntime", '
                             f'got {route!r}')
    cfg = load_config(config)
    register_scopes(cfg)
    shape = tuple(shape) if shape is not None else config_shape(cfg)
    os.makedirs(work_dir, exist_ok=True)
    rows = []

    def run(name, backend, precision, model, file):
        log(f'== {name}: {backend} {precision} ({file})')
        metrics = evaluate(model, cfg, shape, split=split, log=log)
        rows.append(dict(model=name, backend=backend, precision=precision,
                         file=file, metrics=metrics))

    model = build_detector(cfg, checkpoint)
    run('eager', 'pytorch', 'fp32', model, checkpoint)
    onnx_file = osp.join(work_dir, 'model.onnx')
    export_onnx(
        End2EndDetector(
            deploy_model(model, channels_last=False),
            **nms_settings(model.bbox_head.test_cfg)), onnx_file, shape)
    run('onnxruntime fp32', 'onnxruntime', 'fp32',
        ORTDetector(onnx_file, cfg, num_threads=threads), onnx_file)
    run('openvino fp32', 'openvino', 'fp32',
        OVDetector(onnx_file, cfg, num_threads=threads), onnx_file)
    for route in int8:
        ext = '.xml' if route == 'openvino' else '.onnx'
        int8_file = osp.join(work_dir, f'model_int8{ext}')
        log(f'quantizing {int8_file} on {calib_images} {calib_split} '
            'images')
        quantize_model(onnx_file, int8_file, cfg, calib_images, calib_split,
                       overflow_fix, reduce_range, calib_seed,
                       bias_correction)
        detector = (OVDetector if route == 'openvino' else ORTDetector)(
            int8_file, cfg, num_threads=threads)
        run(f'{route} int8', route, 'int8', detector, int8_file)
    with open(osp.join(work_dir, 'ap.json'), 'w', encoding='utf-8') as f:
        json.dump(
            dict(config=cfg.filename, checkpoint=checkpoint,
                 shape=list(shape), calib_images=calib_images,
                 calib_split=calib_split, calib_seed=calib_seed,
                 overflow_fix=overflow_fix,
                 bias_correction=bias_correction,
                 reduce_range=reduce_range, split=split, rows=rows),
            f, indent=2)
    return rows
