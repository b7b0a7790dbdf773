"""MS-Block, the multi-scale building block of YOLO-MS (paper 000, sec. 2.1)."""
from typing import Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from mmyolo.registry import MODELS

from .split_block import SplitBlock


@MODELS.register_module()
class MSBlockLayer(BaseModule):
    """Inverted-bottleneck layer used inside each MS-Block branch.

    ``1x1 conv (C -> C*r) -> kxk depthwise conv -> 1x1 conv (C*r -> C)``,
    every conv a ConvModule (conv + norm + act).

    Args:
        in_channels (int): Input channels (the branch width).
        out_channels (int): Output channels.
        kernel_size (int): Depthwise kernel size (odd, 'same' padding).
        mid_expand_ratio (float): Hidden width is
            ``int(in_channels * mid_expand_ratio)``. Defaults to 2.
        conv_cfg (dict, optional): Conv config. Defaults to None.
        norm_cfg (dict): Norm config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config.
            Defaults to ``dict(type='SiLU', inplace=True)``.
        init_cfg (dict or list[dict], optional): Init config.
            Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 mid_expand_ratio: float = 2.,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(kernel_size, int) or kernel_size % 2 == 0:
            raise ValueError(
                f'kernel_size must be an odd int, got {kernel_size}')
        if mid_expand_ratio <= 0:
            raise ValueError(
                f'mid_expand_ratio must be > 0, got {mid_expand_ratio}')
        hidden = int(in_channels * mid_expand_ratio)
        if hidden < 1:
            raise ValueError(
                f'mid_expand_ratio={mid_expand_ratio} leaves no hidden '
                f'channels for in_channels={in_channels}')
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.in_conv = ConvModule(in_channels, hidden, 1, **cfgs)
        self.mid_conv = ConvModule(
            hidden,
            hidden,
            kernel_size,
            padding=kernel_size // 2,
            groups=hidden,
            **cfgs)
        self.out_conv = ConvModule(hidden, out_channels, 1, **cfgs)

    def forward(self, x: Tensor) -> Tensor:
        return self.out_conv(self.mid_conv(self.in_conv(x)))


@MODELS.register_module()
class MSBlock(SplitBlock):
    """MS-Block: hierarchical multi-branch block of YOLO-MS.

    A 1x1 ``in_conv`` widens the input to ``mid`` channels, which are split
    in order into ``n = len(kernel_sizes)`` groups ``X_1..X_n``. Each branch
    ``i`` is a stack of ``layers_num`` :class:`MSBlockLayer` with kernel
    ``kernel_sizes[i]`` (``1`` means identity) and receives the previous
    branch's output::

        Y_1 = B_1(X_1)                 (identity for kernel 1)
        Y_i = B_i(X_i + Y_{i-1}),  i > 1

    The ``Y_i`` are concatenated and mixed by a 1x1 ``out_conv``; an optional
    attention module follows::

        x --in_conv--> split --> [B_1] ----------------+
                             |      \\                 |
                             +----> (+) -> [B_2] ------+-- cat -- out_conv --> (attn) --> y
                             |               \\        |
                             +-------------> (+) -> [B_3]

    Channel arithmetic: ``mid = int(in_channels * in_expand_ratio) //
    in_down_ratio`` and ``branch = mid // n``; both must divide exactly.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_sizes (Sequence[int | tuple[int, int]]): Kernel of each
            branch, ``1`` for an identity branch; an entry may also be a
            square pair ``(k, k)``, as the official configs write it.
            Defaults to ``(1, 3, 3)``.
        in_expand_ratio (float): Expansion of ``in_conv``. Defaults to 3.
        mid_expand_ratio (float): Expansion inside each inverted
            bottleneck layer. Defaults to 2.
        layers_num (int): Inverted bottleneck layers per branch.
            Defaults to 3.
        in_down_ratio (int): Divides the expanded width. Defaults to 1.
        attention_cfg (dict, optional): Attention after ``out_conv``, built
            with ``channels=out_channels``. Defaults to None.
        conv_cfg (dict, optional): Conv config. Defaults to None.
        norm_cfg (dict): Norm config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config.
            Defaults to ``dict(type='SiLU', inplace=True)``.
        init_cfg (dict or list[dict], optional): Init config.
            Defaults to None.

    Example:
        >>> import torch
        >>> block = MSBlock(32, 64, kernel_sizes=[1, 3, 3], layers_num=1)
        >>> block(torch.rand(1, 32, 40, 40)).shape
        torch.Size([1, 64, 40, 40])
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_sizes: Sequence[int] = (1, 3, 3),
                 in_expand_ratio: float = 3.,
                 mid_expand_ratio: float = 2.,
                 layers_num: int = 3,
                 in_down_ratio: int = 1,
                 attention_cfg: OptConfigType = None,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(in_channels, out_channels, kernel_sizes,
                         in_expand_ratio, mid_expand_ratio, layers_num,
                         in_down_ratio, attention_cfg, conv_cfg, norm_cfg,
                         act_cfg, init_cfg)

    def adds_previous_output(self, index: int) -> bool:
        """Every branch after the first adds the previous output."""
        return index > 0

    def build_branch(self, kernel_size: int, cfgs: dict) -> nn.Module:
        """``layers_num`` :class:`MSBlockLayer` of ``kernel_size``."""
        return nn.Sequential(*[
            MSBlockLayer(
                self.branch_channels,
                self.branch_channels,
                kernel_size,
                mid_expand_ratio=self.mid_expand_ratio,
                **cfgs) for _ in range(self.layers_num)
        ])
