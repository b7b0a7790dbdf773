"""Deploy mode: the same detector, rewritten for fast inference."""
from typing import Optional

import torch
import torch.nn as nn

from .fuse import count_batch_norms, fold_batch_norms
from .pad import pad_channels
from .slice_free import remove_channel_slicing


def _to_channels_last(module: nn.Module, args: tuple) -> tuple:
    return (args[0].contiguous(memory_format=torch.channels_last), ) + tuple(
        args[1:])


def deploy_model(model: nn.Module,
                 channels_last: bool = True,
                 slice_free: bool = True,
                 channel_multiple: Optional[int] = None) -> nn.Module:
    """Switch a detector to deploy mode, in place.

    1. Every BatchNorm after a conv is folded into it
       (:func:`fold_batch_norms`); a BN that cannot be folded is an error.
       RepVGG blocks (YOLOv6-MS's stem) first merge their branches into
       one conv (mmyolo's ``RepVGGBlock.switch_to_deploy``).
    2. With ``slice_free``, every MS-Block (and Res2Block) computes its
       branch inputs with one 1x1 conv per branch instead of one conv
       and channel slicing (:func:`remove_channel_slicing`), so that an
       exported graph has no ``Slice``/``Split`` in backbone and neck.
    3. With ``channel_multiple``, odd hidden widths of conv chains are
       zero-padded to a multiple of it (:func:`pad_channels`), for
       kernels that want aligned widths. Measured here: neutral for
       YOLO-MS-S in onnxruntime and in PyTorch, so off by default.
    4. With ``channels_last``, weights and activations use the NHWC memory
       layout, for which oneDNN has faster convolutions (a pre-hook on the
       backbone converts the input).

    Outputs equal the eager model's to float32 rounding: the rewrites are
    exact algebra (the fold is computed in float64).

    Args:
        model (nn.Module): Detector (mmyolo ``YOLODetector`` or any model
            made of ConvModules), in eval mode.
        channels_last (bool): Use the NHWC memory layout.
            Defaults to True.
        slice_free (bool): Remove the split blocks' channel slicing.
            Defaults to True.
        channel_multiple (int, optional): Pad hidden widths to a multiple
            of it. Defaults to None (no padding).

    Returns:
        nn.Module: ``model``, in eval mode.
    """
    model.eval()
    from mmyolo.models.layers import RepVGGBlock
    for block in [m for m in model.modules() if isinstance(m, RepVGGBlock)]:
        block.switch_to_deploy()
    fold_batch_norms(model)
    left = count_batch_norms(model)
    if left:
        raise ValueError(
            f'{left} BatchNorm layer(s) do not follow a conv and cannot be '
            'folded; deploy mode supports conv + BN pairs only')
    if slice_free:
        remove_channel_slicing(model)
    pad_channels(model, channel_multiple)
    for param in model.parameters():
        param.requires_grad_(False)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        entry = model.backbone if hasattr(model, 'backbone') else model
        entry.register_forward_pre_hook(_to_channels_last)
    model.deploy = True
    return model
