"""The frame shared by the split blocks (:class:`MSBlock`, :class:`Res2Block`)
and by their slice-free deploy form."""
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from ..utils import build_module
from .split_channels import check_kernel_sizes, split_channels


def merge_branches(feats: Sequence[Tensor], mid_convs: Sequence[nn.Module],
                   adds_previous: Sequence[bool], out_conv: nn.Module,
                   attention: nn.Module = None) -> Tensor:
    """The hierarchy of a split block, on its split inputs ``X_i``::

        Y_i = mid_convs[i](X_i + Y_{i-1})   where adds_previous[i]
              mid_convs[i](X_i)              otherwise
        out = attention(out_conv(cat(Y_1, ..., Y_n)))
    """
    outs = []
    for feat, branch, add in zip(feats, mid_convs, adds_previous):
        if add:
            feat = feat + outs[-1]
        outs.append(branch(feat))
    out = out_conv(torch.cat(outs, dim=1))
    if attention is not None:
        out = attention(out)
    return out


class SplitBlock(BaseModule):
    """Base of the split blocks: a 1x1 ``in_conv`` widens the input to
    ``mid`` channels, split in order into one group per entry of
    ``kernel_sizes``; each group runs through its branch (``nn.Identity``
    for kernel 1, :meth:`build_branch` otherwise), fed the previous
    branch's output where :meth:`adds_previous_output` says so
    (:func:`merge_branches`); a 1x1 ``out_conv`` mixes the concatenated
    branch outputs, and an optional attention module follows.

    Channel arithmetic: ``mid = int(in_channels * in_expand_ratio) //
    in_down_ratio`` and ``branch = mid // len(kernel_sizes)``, both exact
    (:func:`split_channels`). A subclass defines :meth:`build_branch` and
    :meth:`adds_previous_output`; its arguments are documented there.
    State-dict names: ``in_conv``, ``mid_convs.{i}``, ``out_conv``,
    ``attention``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_sizes: Sequence[int],
                 in_expand_ratio: float,
                 mid_expand_ratio: float,
                 layers_num: int,
                 in_down_ratio: int,
                 attention_cfg: OptConfigType,
                 conv_cfg: OptConfigType,
                 norm_cfg: ConfigType,
                 act_cfg: ConfigType,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.kernel_sizes = check_kernel_sizes(kernel_sizes)
        self.mid_channels, self.branch_channels = split_channels(
            in_channels, self.kernel_sizes, in_expand_ratio, in_down_ratio,
            layers_num)
        self.mid_expand_ratio = mid_expand_ratio
        self.layers_num = layers_num
        self.adds_previous = tuple(
            self.adds_previous_output(i)
            for i in range(len(self.kernel_sizes)))
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.in_conv = ConvModule(in_channels, self.mid_channels, 1, **cfgs)
        self.mid_convs = nn.ModuleList([
            nn.Identity() if k == 1 else self.build_branch(k, cfgs)
            for k in self.kernel_sizes
        ])
        self.out_conv = ConvModule(self.mid_channels, out_channels, 1,
                                   **cfgs)
        if attention_cfg is not None:
            self.attention = build_module(
                dict(attention_cfg, channels=out_channels))
        else:
            self.attention = None

    def adds_previous_output(self, index: int) -> bool:
        """Whether branch ``index`` adds the previous branch's output to its
        input (the block's hierarchy)."""
        raise NotImplementedError

    def build_branch(self, kernel_size: int, cfgs: dict) -> nn.Module:
        """The branch of a kernel other than 1, ``branch_channels`` in and
        out; ``cfgs`` holds ``conv_cfg``, ``norm_cfg`` and ``act_cfg``."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return merge_branches(
            self.in_conv(x).split(self.branch_channels, dim=1),
            self.mid_convs, self.adds_previous, self.out_conv,
            self.attention)
