"""Squeeze-and-excitation attention, as used by YOLO-MS's SE variants."""
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.utils import OptMultiConfig
from mmyolo.registry import MODELS


@MODELS.register_module()
class SEAttention(BaseModule):
    """Channel attention of SENet (Hu et al., 2018).

    ``y = x * sigmoid(W2 relu(W1 gap(x)))`` with bias-free ``W1: C -> C/r``
    and ``W2: C/r -> C`` (state-dict keys ``fc.0.weight``, ``fc.2.weight``,
    those of the official YOLO-MS SE checkpoints).

    Args:
        channels (int): Channels of the input; injected by the host block.
        ratio (int): Reduction ratio ``r``; the hidden width is
            ``channels // ratio`` (floored, as in the official release) and
            must be >= 1. Defaults to 16.
        init_cfg (dict or list[dict], optional): Init config.
            Defaults to None.
    """

    def __init__(self,
                 channels: int,
                 ratio: int = 16,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(ratio, int) or ratio < 1:
            raise ValueError(f'ratio must be an int >= 1, got {ratio}')
        hidden = channels // ratio
        if hidden < 1:
            raise ValueError(
                f'ratio={ratio} leaves no hidden units for '
                f'channels={channels}')
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden, bias=False), nn.ReLU(inplace=True),
            nn.Linear(hidden, channels, bias=False), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        n, c = x.shape[:2]
        weight = self.fc(self.pool(x).view(n, c)).view(n, c, 1, 1)
        return x * weight


# The official release's type name (``attention_cfg=dict(type='SE')``).
MODELS.register_module(name='SE', module=SEAttention)
