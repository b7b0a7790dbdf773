"""Zero-pad odd hidden channel widths to a multiple of the SIMD block.

onnxruntime's fastest CPU convolutions (the NCHWc kernels) need channel
counts that are multiples of the vector width (16 floats on AVX-512, 8 on
AVX2); a conv with, say, 129 channels falls back to a slower path.
YOLO-MS-S has such widths everywhere (``int(240 * 0.54) = 129``).
Measured (``docs/deploy.md``): YOLO-MS-S's network 5 % faster on
onnxruntime with ``multiple=16``; no change on OpenVINO, whose blocked
layouts pad internally; XS and RTMDet-tiny have no odd widths.

Padding is exact: the extra output channels of a conv get zero weights and
zero bias, the activation maps them to zero (SiLU, ReLU and LeakyReLU all
keep 0 at 0), and the next conv gets zero weights for them. Only widths
*inside* a chain of convs change, never a module's input or output, so
the rest of the network is untouched.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

_ZERO_PRESERVING = (nn.ReLU, nn.LeakyReLU, nn.SiLU, nn.ReLU6, nn.Identity)


def _round_up(value: int, multiple: int) -> int:
    return (value + multiple - 1) // multiple * multiple


def _keeps_zero(layer: nn.Module) -> bool:
    """A ConvModule without norm whose activation maps 0 to 0."""
    if not isinstance(layer, ConvModule) or layer.with_norm:
        return False
    if not layer.with_activation:
        return True
    return isinstance(layer.activate, _ZERO_PRESERVING)


def _is_depthwise(conv: nn.Conv2d) -> bool:
    return (conv.groups > 1 and conv.groups == conv.in_channels
            and conv.groups == conv.out_channels)


def _resized(conv: nn.Conv2d, in_channels: int,
             out_channels: int) -> nn.Conv2d:
    """A copy of ``conv`` with more channels, the new ones zero."""
    depthwise = _is_depthwise(conv)
    if conv.groups > 1 and not depthwise:
        raise ValueError('grouped (non-depthwise) convs cannot be padded')
    groups = out_channels if depthwise else 1
    new = nn.Conv2d(
        in_channels,
        out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=groups,
        bias=True,
        padding_mode=conv.padding_mode).to(conv.weight.dtype)
    with torch.no_grad():
        new.weight.zero_()
        new.bias.zero_()
        c_out, c_in = conv.weight.shape[:2]
        new.weight[:c_out, :c_in] = conv.weight
        if conv.bias is not None:
            new.bias[:c_out] = conv.bias
    new.weight.requires_grad_(False)
    new.bias.requires_grad_(False)
    return new


def pad_conv_chain(convs: Sequence[nn.Conv2d], keeps_zero: Sequence[bool],
                   multiple: int) -> List[nn.Conv2d]:
    """Pad the widths between consecutive convs of a sequential chain.

    ``convs[i]``'s output, through an activation, feeds ``convs[i + 1]``
    and nothing else. A width is padded when ``keeps_zero[i]`` (no norm,
    the activation maps 0 to 0) and it is not a multiple of ``multiple``;
    a depthwise conv passes the padding on to the next conv (its groups
    grow with it). The chain's input and output widths are kept.
    Every conv must be exactly ``nn.Conv2d``: the padded copies are plain
    convs, so a subclass (``PSConv2d``'s dilations ...) would silently
    change what it computes.

    Args:
        convs (Sequence[nn.Conv2d]): The chain, BN already folded.
        keeps_zero (Sequence[bool]): One per link (``len(convs) - 1``).
        multiple (int): Channel multiple.

    Returns:
        list[nn.Conv2d]: The convs, new ones where padded.
    """
    convs = list(convs)
    for conv in convs:
        if type(conv) is not nn.Conv2d:  # noqa: E721
            raise TypeError('only chains of plain nn.Conv2d layers can be '
                            f'padded, got {type(conv).__name__}')
    if len(keeps_zero) != len(convs) - 1:
        raise ValueError('keeps_zero needs one entry per link of the chain')
    i = 0
    while i < len(convs) - 1:
        width = convs[i].out_channels
        target = _round_up(width, multiple)
        if target == width or not keeps_zero[i]:
            i += 1
            continue
        if _is_depthwise(convs[i + 1]):
            # the depthwise conv carries the padding on to the next conv
            if i + 2 >= len(convs) or not keeps_zero[i + 1]:
                i += 1
                continue
            convs[i] = _resized(convs[i], convs[i].in_channels, target)
            convs[i + 1] = _resized(convs[i + 1], target, target)
            convs[i + 2] = _resized(convs[i + 2], target,
                                    convs[i + 2].out_channels)
            i += 2
        else:
            convs[i] = _resized(convs[i], convs[i].in_channels, target)
            convs[i + 1] = _resized(convs[i + 1], target,
                                    convs[i + 1].out_channels)
            i += 1
    return convs


def pad_channels(model: nn.Module, multiple: Optional[int]) -> int:
    """Pad the hidden widths of the conv chains of a deploy-mode detector.

    Chains handled: each MS-Block layer (1x1 -> depthwise kxk -> 1x1) and
    each level of an RTMDet head (stacked 3x3 convs -> 1x1 predictions).
    Only plain ``nn.Conv2d`` layers are padded; a chain holding any other
    conv class (e.g. ``PSConv2d``) is an error, not silently rebuilt.

    Args:
        model (nn.Module): Detector with BN folded, changed in place.
        multiple (int, optional): Channel multiple; None does nothing.

    Returns:
        int: Number of convs replaced by padded ones.
    """
    from mmyolo.models.dense_heads import RTMDetSepBNHeadModule

    from mmyoloms.models.layers import MSBlockLayer
    if multiple is None:
        return 0
    if not isinstance(multiple, int) or multiple < 1:
        raise ValueError(f'multiple must be an int >= 1, got {multiple}')
    padded = 0
    for module in list(model.modules()):
        if isinstance(module, MSBlockLayer):
            layers = [module.in_conv, module.mid_conv, module.out_conv]
            convs = pad_conv_chain([m.conv for m in layers],
                                   [_keeps_zero(m) for m in layers[:2]],
                                   multiple)
            for layer, conv in zip(layers, convs):
                padded += layer.conv is not conv
                layer.conv = conv
        elif isinstance(module, RTMDetSepBNHeadModule):
            for level in range(len(module.cls_convs)):
                for stack, preds in ((module.cls_convs[level],
                                      module.rtm_cls),
                                     (module.reg_convs[level],
                                      module.rtm_reg)):
                    convs = pad_conv_chain(
                        [m.conv for m in stack] + [preds[level]],
                        [_keeps_zero(m) for m in stack], multiple)
                    for layer, conv in zip(stack, convs):
                        padded += layer.conv is not conv
                        layer.conv = conv
                    padded += preds[level] is not convs[-1]
                    preds[level] = convs[-1]
    return padded
