"""Fold BatchNorm into the preceding convolution for inference."""
import copy

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch.nn.modules.batchnorm import _BatchNorm


def fuse_conv_bn_weights(conv: nn.Conv2d, bn: _BatchNorm) -> nn.Conv2d:
    """Return a new conv equal to ``bn(conv(x))`` for ``bn`` in eval mode.

    ``W' = W * g / sqrt(v + eps)`` and ``b' = (b - m) * g / sqrt(v + eps) +
    beta``, computed in float64 so that the folded conv matches the eager
    pair to float32 rounding. The input conv is not modified: RTMDet's head
    shares one conv between the levels of a feature pyramid, each level
    with its own BN, so every (conv, bn) pair needs its own folded copy.

    Args:
        conv (nn.Conv2d): Convolution followed by ``bn``.
        bn (_BatchNorm): BatchNorm with running statistics.

    Returns:
        nn.Conv2d: A new conv holding the folded weight and bias.
    """
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(
            f'cannot fold {type(bn).__name__} without running statistics '
            '(track_running_stats=False)')
    fused = copy.deepcopy(conv)
    weight = conv.weight.detach().double()
    bias = (conv.bias.detach().double() if conv.bias is not None else
            torch.zeros(conv.out_channels, dtype=torch.float64,
                        device=weight.device))
    gamma = (bn.weight.detach().double() if bn.weight is not None else
             torch.ones_like(bias))
    beta = (bn.bias.detach().double() if bn.bias is not None else
            torch.zeros_like(bias))
    scale = gamma / torch.sqrt(bn.running_var.double() + bn.eps)
    fused.weight = nn.Parameter(
        (weight * scale.reshape(-1, 1, 1, 1)).to(conv.weight.dtype),
        requires_grad=False)
    fused.bias = nn.Parameter(
        ((bias - bn.running_mean.double()) * scale + beta).to(
            conv.weight.dtype),
        requires_grad=False)
    return fused


def _conv_then_bn(module: ConvModule) -> bool:
    if not module.with_norm or not isinstance(module.norm, _BatchNorm):
        return False
    order = list(module.order)
    return order.index('conv') + 1 == order.index('norm')


def fold_batch_norms(model: nn.Module) -> int:
    """Fold, in place, every BatchNorm that directly follows a convolution.

    Covers the two ways OpenMMLab models pair them: a ``ConvModule`` whose
    order is conv then norm (YOLO-MS blocks, CSPNeXt, the RTMDet head), and
    a ``nn.Conv2d`` immediately followed by a BatchNorm among a container's
    children (``nn.Sequential`` stacks). The BN is removed and the conv
    gains a bias. Call it on a model in eval mode.

    Args:
        model (nn.Module): Model to change in place.

    Returns:
        int: Number of BatchNorm layers folded.
    """
    folded = 0
    for module in list(model.modules()):
        if isinstance(module, ConvModule):
            if _conv_then_bn(module):
                module.conv = fuse_conv_bn_weights(module.conv, module.norm)
                delattr(module, module.norm_name)
                module.norm_name = None
                module.with_norm = False
                folded += 1
            continue
        last_conv_name = None
        for name, child in list(module.named_children()):
            if isinstance(child, _BatchNorm) and last_conv_name is not None:
                conv = getattr(module, last_conv_name)
                setattr(module, last_conv_name,
                        fuse_conv_bn_weights(conv, child))
                setattr(module, name, nn.Identity())
                folded += 1
                last_conv_name = None
            elif isinstance(child, nn.Conv2d):
                last_conv_name = name
            else:
                last_conv_name = None
    return folded


def count_batch_norms(model: nn.Module) -> int:
    """Number of BatchNorm layers left in ``model``."""
    return sum(isinstance(m, _BatchNorm) for m in model.modules())
