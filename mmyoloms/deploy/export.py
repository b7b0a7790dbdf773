"""ONNX export of a detector with box decoding and NMS."""
import os
import os.path as osp
import warnings
from typing import Sequence

import torch

from mmyoloms.compat import (has_torch_feature, log_fallback,
                             torch_feature_error)
from .end2end import OUTPUT_NAMES, End2EndDetector
from .nms import ONNX_TRANSLATIONS, register_torchscript_symbolic

EXPORTERS = ('dynamo', 'torchscript')
INPUT_NAME = 'images'


def _check_shape(shape: Sequence[int], divisor: int) -> tuple:
    shape = tuple(shape)
    if len(shape) != 2 or any(
            not isinstance(s, int) or s < divisor or s % divisor
            for s in shape):
        raise ValueError(
            f'shape must be (H, W), positive multiples of the largest head '
            f'stride {divisor}, got {shape}')
    return shape


def export_onnx(model: End2EndDetector,
                out_file: str,
                shape: Sequence[int],
                batch: int = 1,
                dynamic: bool = False,
                exporter: str = 'dynamo',
                opset_version: int = 18) -> str:
    """Export an :class:`End2EndDetector` (or its network alone) to ONNX.

    The graph has one input ``images`` (``N x 3 x H x W`` float,
    preprocessed as the config's data preprocessor does) and, with NMS,
    the outputs ``num_dets (N, 1)``, ``boxes (N, K, 4)``, ``scores (N, K)``
    and ``labels (N, K)``; without NMS the head's raw per-level outputs.

    Only the dynamo exporter writes a correct graph for dynamic shapes
    (the TorchScript exporter bakes the candidate count computed from the
    example shape into ``TopK``); both give the same graph for a static
    shape. The dynamo exporter as used here needs torch >= 2.6: on an
    older torch a static export falls back to the TorchScript exporter
    (one log line says so) and a dynamic one raises
    :class:`mmyoloms.compat.TorchFeatureError`.

    Args:
        model (End2EndDetector): Model to export, eval mode, CPU.
        out_file (str): Path of the ``.onnx`` file (weights inside it).
        shape (Sequence[int]): Example input ``(H, W)``.
        batch (int): Example batch size. Defaults to 1.
        dynamic (bool): Batch, height and width dynamic (height and width
            multiples of the largest stride). Defaults to False.
        exporter (str): ``'dynamo'`` or ``'torchscript'``.
            Defaults to ``'dynamo'``.
        opset_version (int): ONNX opset. Defaults to 18.

    Returns:
        str: ``out_file``.
    """
    if exporter not in EXPORTERS:
        raise ValueError(
            f'exporter must be one of {EXPORTERS}, got {exporter!r}')
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f'batch must be an int >= 1, got {batch}')
    if dynamic and exporter != 'dynamo':
        raise ValueError('dynamic shapes need exporter="dynamo" (the '
                         'TorchScript exporter hard-codes the TopK size)')
    if exporter == 'dynamo' and not has_torch_feature('dynamo_onnx_export'):
        if dynamic:
            raise torch_feature_error('dynamo_onnx_export',
                                      'ONNX export with dynamic shapes')
        log_fallback('dynamo_onnx_export',
                     'exporting ONNX with the TorchScript exporter instead '
                     'of the dynamo exporter (same graph for a static shape)')
        exporter = 'torchscript'
    divisor = max(model.detector.bbox_head.featmap_strides)
    height, width = _check_shape(shape, divisor)
    model.eval()
    images = torch.zeros(batch, 3, height, width)
    if model.with_nms:
        output_names = list(OUTPUT_NAMES)
    else:
        levels = len(model.detector.bbox_head.featmap_strides)
        output_names = [f'cls_score_{i}' for i in range(levels)] + [
            f'bbox_pred_{i}' for i in range(levels)
        ]
    out_dir = osp.dirname(osp.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', category=torch.jit.TracerWarning)
        if exporter == 'dynamo':
            dynamic_shapes = None
            if dynamic:
                dim = torch.export.Dim
                dynamic_shapes = {
                    'images': {
                        0: dim('batch', min=1, max=1024),
                        2: divisor * dim('height', min=1, max=512),
                        3: divisor * dim('width', min=1, max=512)
                    }
                }
            program = torch.onnx.export(
                model, (images, ),
                dynamo=True,
                input_names=[INPUT_NAME],
                output_names=output_names,
                opset_version=opset_version,
                dynamic_shapes=dynamic_shapes,
                custom_translation_table=ONNX_TRANSLATIONS,
                external_data=False,
                verbose=False)
            program.save(out_file, external_data=False)
        else:
            register_torchscript_symbolic(opset_version)
            # torch >= 2.9 defaults to dynamo=True; before 2.5 there is no
            # such argument (TorchScript is the only exporter).
            kwargs = (dict(dynamo=False)
                      if has_torch_feature('onnx_export_dynamo_flag') else {})
            torch.onnx.export(
                model, (images, ),
                out_file,
                input_names=[INPUT_NAME],
                output_names=output_names,
                opset_version=opset_version,
                **kwargs)
    return out_file

