"""Model complexity: build a detector from its config, count params and FLOPs.

The one place where mmyoloms counts a model: ``tools/get_flops.py``, the
ablation table (``tools/ablation_table.py``) and the sweeps
(:mod:`mmyoloms.sweep`) all call :func:`get_complexity`.

FLOPs are mmengine's count (:class:`mmengine.analysis.FlopAnalyzer`), i.e.
multiply-accumulates, as the YOLO-MS paper reports them, of the network's
``tensor`` forward (backbone, neck and head; no box decoding or NMS) on one
``1 x 3 x H x W`` image. An MMDetection two-stage detector also runs its
RPN and RoI head in that forward, which need the image metadata of a data
sample; the count is given one, so mmdet and mmyolo detectors are counted
alike. (The RoI head's share depends on how many proposals survive the
RPN, so the input is a fixed pseudo-random image: the count repeats.)
"""
from typing import Dict, Sequence, Union

import torch
import torch.nn as nn
from mmengine.config import Config

from .deploy.utils import build_detector

__all__ = ['get_complexity']


class _TensorForward(nn.Module):
    """A detector's ``tensor`` forward with fixed data samples, so that
    :class:`FlopAnalyzer` can trace it from the images alone."""

    def __init__(self, detector: nn.Module, data_samples: list) -> None:
        super().__init__()
        self.detector = detector
        self.data_samples = data_samples

    def forward(self, images: torch.Tensor):
        return self.detector._forward(images, self.data_samples)


def _data_samples(shape: Sequence[int]) -> list:
    """One sample with the metadata an mmdet detector's forward reads
    (the RPN clips proposals to ``img_shape``)."""
    from mmdet.structures import DetDataSample
    shape = tuple(shape)
    return [
        DetDataSample(
            metainfo=dict(
                img_shape=shape,
                ori_shape=shape,
                pad_shape=shape,
                batch_input_shape=shape,
                scale_factor=(1.0, 1.0)))
    ]


def get_complexity(model: Union[nn.Module, str, Config],
                   shape: Sequence[int] = (640, 640)) -> Dict:
    """Params and FLOPs of a detector at input size ``shape``.

    Args:
        model (nn.Module, str or Config): A detector with ``_forward``
            (mmdet's ``BaseDetector`` API: mmyolo and mmdet detectors, in
            eager or deploy mode), or a config to build one from
            (:func:`~mmyoloms.deploy.build_detector`, with its random
            initialisation).
        shape (Sequence[int]): Input ``(H, W)``. Defaults to (640, 640).

    Returns:
        dict: ``params`` and ``flops`` (ints; FLOPs are multiply-adds) and
        ``params_str``/``flops_str`` (``'4.494 M'``, ``'8.739 G'``).

    Raises:
        ValueError: ``shape`` is not two positive ints, or the model has
            no ``_forward``.
    """
    from mmengine.analysis import FlopAnalyzer, parameter_count
    shape = tuple(shape)
    if len(shape) != 2 or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 1
            for s in shape):
        raise ValueError(f'shape must be (H, W), two positive ints, got '
                         f'{shape}')
    if not isinstance(model, nn.Module):
        model = build_detector(model, calibrate=False)
    if not hasattr(model, '_forward'):
        raise ValueError(
            f'{type(model).__name__} has no `_forward`; expected an mmdet/'
            'mmyolo detector')
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(1, 3, *shape, generator=generator)
    wrapped = _TensorForward(model, _data_samples(shape))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(wrapped, (images, ))
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            flops = int(analyzer.total())
    finally:
        model.train(was_training)
    params = int(parameter_count(model)[''])
    return dict(
        params=params,
        flops=flops,
        params_str=f'{params / 1e6:.3f} M',
        flops_str=f'{flops / 1e9:.3f} G')
