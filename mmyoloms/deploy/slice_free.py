"""Slice-free deploy form of the split blocks (MS-Block, Res2Block).

An MS-Block widens its input with one 1x1 ``in_conv`` and then slices the
result into ``n`` channel groups, one per branch. In an exported graph each
slice is a ``Slice``/``Split`` node, and onnxruntime's blocked-layout
(NCHWc) pass supports neither: every sliced tensor is reordered out of the
blocked layout and back. Since a 1x1 conv computes each output channel
independently, ``in_conv`` followed by slicing equals ``n`` 1x1 convs, the
``i``-th holding rows ``[i * b, (i + 1) * b)`` of the weight and bias
(``b`` the branch width)::

    x --in_conv--> [X_1 | X_2 | X_3]      ==      x --in_conv_1--> X_1
                                                  x --in_conv_2--> X_2
                                                  x --in_conv_3--> X_3

The rewrite is exact (each output channel is the same dot product over the
same inputs) and keeps every other layer as it is.
"""
import copy
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from ..models.layers.split_block import SplitBlock, merge_branches


def _split_conv_module(module: ConvModule, width: int) -> List[ConvModule]:
    """Split a 1x1 ConvModule (conv then activation, no norm) into
    ConvModules of ``width`` output channels each, in channel order."""
    conv = module.conv
    if type(conv) is not nn.Conv2d:  # noqa: E721 (subclasses compute
        # something else, e.g. PSConv2d's dilations)
        raise TypeError(
            f'only plain nn.Conv2d can be split, got {type(conv).__name__}')
    if module.with_norm:
        raise ValueError('fold the BatchNorms first (deploy_model does): '
                         'a norm layer cannot be split per branch')
    if conv.kernel_size != (1, 1) or conv.groups != 1:
        raise ValueError('only an ungrouped 1x1 conv can be split per '
                         f'branch, got kernel {conv.kernel_size}, groups '
                         f'{conv.groups}')
    if conv.out_channels % width:
        raise ValueError(f'{conv.out_channels} channels do not split into '
                         f'groups of {width}')
    parts = []
    for start in range(0, conv.out_channels, width):
        new = nn.Conv2d(
            conv.in_channels,
            width,
            1,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            bias=conv.bias is not None,
            padding_mode=conv.padding_mode).to(conv.weight.dtype)
        with torch.no_grad():
            new.weight.copy_(conv.weight[start:start + width])
            if conv.bias is not None:
                new.bias.copy_(conv.bias[start:start + width])
        new.requires_grad_(conv.weight.requires_grad)
        part = copy.deepcopy(module)  # keeps the order and activation
        part.conv = new
        part.out_channels = width
        parts.append(part)
    return parts


class SliceFreeSplitBlock(nn.Module):
    """A split block whose branches read their own 1x1 input conv.

    Computes, for branches ``i = 1..n``::

        X_i = in_convs[i](x)
        Y_i = mid_convs[i](X_i + Y_{i-1})   if adds_previous[i]
              mid_convs[i](X_i)              otherwise
        out = attention(out_conv(cat(Y_1, ..., Y_n)))

    which is the forward of the split blocks
    (:func:`~mmyoloms.models.layers.split_block.merge_branches`, with the
    block's own ``adds_previous``) without slicing. Build it with
    :meth:`from_block`; it is an inference-only module.

    Args:
        in_convs (Sequence[nn.Module]): One input conv per branch.
        mid_convs (Sequence[nn.Module]): The branches (``nn.Identity``
            for an identity branch).
        adds_previous (Sequence[bool]): Whether branch ``i`` adds the
            previous branch's output to its input.
        out_conv (nn.Module): Mixes the concatenated branch outputs.
        attention (nn.Module, optional): After ``out_conv``.
            Defaults to None.
    """

    def __init__(self,
                 in_convs: Sequence[nn.Module],
                 mid_convs: Sequence[nn.Module],
                 adds_previous: Sequence[bool],
                 out_conv: nn.Module,
                 attention: Optional[nn.Module] = None) -> None:
        super().__init__()
        if not len(in_convs) == len(mid_convs) == len(adds_previous):
            raise ValueError('in_convs, mid_convs and adds_previous need '
                             'one entry per branch')
        if adds_previous and adds_previous[0]:
            raise ValueError('the first branch has no previous output')
        self.in_convs = nn.ModuleList(in_convs)
        self.mid_convs = nn.ModuleList(mid_convs)
        self.adds_previous = tuple(bool(a) for a in adds_previous)
        self.out_conv = out_conv
        self.attention = attention

    @classmethod
    def from_block(cls, block: nn.Module) -> 'SliceFreeSplitBlock':
        """The slice-free form of an MSBlock or Res2Block whose BatchNorms
        are folded (:func:`~mmyoloms.deploy.fold_batch_norms`). The new
        module shares the block's branch and output layers.

        Raises:
            TypeError: ``block`` is neither (nor of a subclass that keeps
                their forward), or its ``in_conv`` is not a plain
                ``nn.Conv2d``.
            ValueError: ``block.in_conv`` still has a norm layer.
        """
        if not isinstance(block, SplitBlock) or \
                type(block).forward is not SplitBlock.forward:
            raise TypeError(
                f'{type(block).__name__} has its own forward: only '
                'MSBlock and Res2Block can be made slice-free')
        in_convs = _split_conv_module(block.in_conv, block.branch_channels)
        return cls(in_convs, list(block.mid_convs), block.adds_previous,
                   block.out_conv, block.attention)

    def forward(self, x: Tensor) -> Tensor:
        return merge_branches([in_conv(x) for in_conv in self.in_convs],
                              self.mid_convs, self.adds_previous,
                              self.out_conv, self.attention)


def remove_channel_slicing(model: nn.Module) -> int:
    """Replace, in place, every MSBlock and Res2Block of ``model`` by its
    :class:`SliceFreeSplitBlock`. BatchNorms must be folded first.

    A block whose ``in_conv`` is not a plain ``nn.Conv2d`` (a custom
    ``conv_cfg``) is left as it is: its output stays exact, only its
    slicing stays in the graph.

    Args:
        model (nn.Module): Model to change in place.

    Returns:
        int: Number of blocks replaced.
    """
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, SplitBlock):
                continue
            if type(child.in_conv.conv) is not nn.Conv2d:  # noqa: E721
                continue
            setattr(parent, name, SliceFreeSplitBlock.from_block(child))
            replaced += 1
    return replaced
