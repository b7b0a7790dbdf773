"""Res2Block: a Res2Net-style hierarchical split block (paper 004) that
takes MSBlock's place in the YOLO-MS backbone and neck."""
import copy
from typing import Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from mmyolo.registry import MODELS

from .split_block import SplitBlock


@MODELS.register_module()
class Res2Block(SplitBlock):
    """Res2Net hierarchical split block (Gao et al., TPAMI 2021) with plain
    (non-depthwise) convs, built from the same arguments as
    :class:`MSBlock` so that ``block_cfg=dict(type='Res2Block', ...)``
    swaps it into :class:`YOLOMSBackbone` and :class:`YOLOMSPAFPN`.

    A 1x1 ``in_conv`` maps the input to ``mid`` channels, split in order
    into ``s = len(kernel_sizes)`` groups ``x_1..x_s``; with ``K_i`` the
    branch of kernel ``kernel_sizes[i]`` (identity for kernel 1)::

        y_1 = K_1(x_1)                                   (x_1 for kernel 1)
        y_i = K_i(x_i + y_{i-1})   if branch i-1 is not an identity
        y_i = K_i(x_i)             otherwise

    so the paper's ``kernel_sizes=[1, 3, 3, ...]`` gives ``y_1 = x_1``,
    ``y_2 = K_2(x_2)``, ``y_i = K_i(x_i + y_{i-1})``: the identity split is
    not fed into the hierarchy (unlike MSBlock, which adds ``X_1`` to
    ``X_2``). The ``y_i`` are concatenated and mixed by a 1x1 ``out_conv``;
    an optional attention module follows, as in MSBlock.

    Each non-identity branch ``K_i`` is ``layers_num`` kxk ConvModules
    (conv + norm + act, 'same' padding, groups 1). Their width is
    ``hidden = int(branch * mid_expand_ratio)``: the first maps
    ``branch -> hidden``, the others ``hidden -> hidden``, and where
    ``hidden != branch`` a 1x1 ConvModule projects back to ``branch`` so
    that ``y_i`` can be added and concatenated. ``mid_expand_ratio=1``
    (no projection) and ``layers_num=1`` is the Res2Net branch, a single
    kxk conv at the split width.

    Channel arithmetic as in MSBlock: ``mid = int(in_channels *
    in_expand_ratio) // in_down_ratio`` and ``branch = mid // s``, both
    exact.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_sizes (Sequence[int | tuple[int, int]]): Kernel of each
            split, ``1`` for an identity split (a square pair ``(k, k)``
            is read as ``k``). Defaults to ``(1, 3, 3)``.
        in_expand_ratio (float): Expansion of ``in_conv``. Defaults to 3.
        mid_expand_ratio (float): Width of the kxk convs in each branch
            relative to the split width (see above). Defaults to 1.
        layers_num (int): kxk convs per branch. Defaults to 1.
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
        >>> block = Res2Block(32, 64, kernel_sizes=[1, 3, 3, 3])
        >>> block(torch.rand(1, 32, 40, 40)).shape
        torch.Size([1, 64, 40, 40])
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_sizes: Sequence[int] = (1, 3, 3),
                 in_expand_ratio: float = 3.,
                 mid_expand_ratio: float = 1.,
                 layers_num: int = 1,
                 in_down_ratio: int = 1,
                 attention_cfg: OptConfigType = None,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        if mid_expand_ratio <= 0:
            raise ValueError(
                f'mid_expand_ratio must be > 0, got {mid_expand_ratio}')
        super().__init__(in_channels, out_channels, kernel_sizes,
                         in_expand_ratio, mid_expand_ratio, layers_num,
                         in_down_ratio, attention_cfg, conv_cfg, norm_cfg,
                         act_cfg, init_cfg)

    def adds_previous_output(self, index: int) -> bool:
        """Only a branch after a non-identity one adds its output."""
        return index > 0 and self.kernel_sizes[index - 1] != 1

    def build_branch(self, kernel_size: int, cfgs: dict) -> nn.Module:
        """``layers_num`` kxk ConvModules, then a 1x1 one back to the split
        width where ``mid_expand_ratio`` changes it."""
        hidden = int(self.branch_channels * self.mid_expand_ratio)
        if hidden < 1:
            raise ValueError(
                f'mid_expand_ratio={self.mid_expand_ratio} leaves no '
                'channels in the branch convs (split width '
                f'{self.branch_channels})')
        layers = [
            ConvModule(
                self.branch_channels if j == 0 else hidden,
                hidden,
                kernel_size,
                padding=kernel_size // 2,
                **copy.deepcopy(cfgs)) for j in range(self.layers_num)
        ]
        if hidden != self.branch_channels:
            layers.append(
                ConvModule(hidden, self.branch_channels, 1,
                           **copy.deepcopy(cfgs)))
        return nn.Sequential(*layers)
