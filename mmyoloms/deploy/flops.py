"""Parameters and FLOPs of a detector's network via mmengine.analysis."""
from typing import Sequence

import torch
import torch.nn as nn


class _Network(nn.Module):
    """The detector's backbone, neck and head as one ``forward``."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, images: torch.Tensor):
        return self.detector._forward(images)


def get_complexity(detector: nn.Module, shape: Sequence[int]) -> dict:
    """Count parameters and FLOPs (multiply-accumulates, as mmengine and
    the YOLO-MS paper report them) of one ``1 x 3 x H x W`` forward.

    Args:
        detector (nn.Module): Detector with ``_forward`` (eager or deploy).
        shape (Sequence[int]): Input ``(H, W)``.

    Returns:
        dict: ``params``, ``flops`` (ints) and their readable strings.
    """
    from mmengine.analysis import get_model_complexity_info
    if len(shape) != 2 or any(not isinstance(s, int) or s < 1
                              for s in shape):
        raise ValueError(f'shape must be (H, W) positive ints, got {shape}')
    was_training = detector.training
    detector.eval()
    try:
        info = get_model_complexity_info(
            _Network(detector),
            inputs=(torch.zeros(1, 3, *shape), ),
            show_table=False,
            show_arch=False)
    finally:
        detector.train(was_training)
    return dict(
        params=int(info['params']),
        flops=int(info['flops']),
        params_str=info['params_str'],
        flops_str=info['flops_str'])
