"""Helpers shared by the backbones and necks of the MS-Block families."""
import copy
import math

import torch.nn as nn
from mmdet.utils import ConfigType, OptConfigType

from mmyolo.registry import MODELS

# PyTorch's own default conv initialisation, used by the official release.
KAIMING_CONV_INIT = dict(
    type='Kaiming',
    layer='Conv2d',
    a=math.sqrt(5),
    distribution='uniform',
    mode='fan_in',
    nonlinearity='leaky_relu')


def build_block(block_cfg: ConfigType, in_channels: int, out_channels: int,
                **defaults):
    """Build a multi-scale block from ``block_cfg`` on a copy.

    ``defaults`` (kernel sizes, depth, norm/act configs ...) are what the
    host proposes for this position; keys set in ``block_cfg`` take
    precedence over them, and the channels are always the host's. Neither
    ``block_cfg`` nor ``defaults`` is mutated.
    """
    cfg = copy.deepcopy(defaults)
    cfg.update(copy.deepcopy(dict(block_cfg)))
    if 'type' not in cfg:
        raise ValueError(f'block_cfg must have a "type", got {block_cfg}')
    cfg.update(in_channels=in_channels, out_channels=out_channels)
    return build_module(cfg)


def build_module(cfg: ConfigType):
    """Build ``cfg`` from mmyolo's model registry, in the mmyolo scope.

    A module of this package builds its parts (blocks, attention) by short
    names such as ``MSBlock``; those live in mmyolo's registry, so they must
    resolve there even when the host config runs under another default
    scope (an MMDet config has ``default_scope='mmdet'``). A ``_scope_`` key
    or a scoped type (``'mmdet.X'``) in ``cfg`` still takes precedence.
    ``cfg`` is not mutated.
    """
    cfg = copy.deepcopy(dict(cfg))
    cfg.setdefault('_scope_', 'mmyolo')
    return MODELS.build(cfg)


def copy_cfg(cfg: OptConfigType) -> OptConfigType:
    """Deep copy of an optional config dict."""
    return None if cfg is None else copy.deepcopy(cfg)


def scaled_depth(layers_num: int, deepen_factor: float) -> int:
    """Layers per block of a host scaled by ``deepen_factor``, rounded.

    One rule for every backbone and neck: ``round(layers_num *
    deepen_factor)``, so that mmyolo's usual ``deepen_factor=0.33`` gives
    the depth of ``1/3`` (and ``0.67`` that of ``2/3``); the official
    YOLO-MS neck rounds the same way, and truncating (``int``) would leave
    ``3 * 0.33`` with no layer. (mmyolo's ``make_round`` rounds too, but
    turns a zero depth into one layer and leaves ``layers_num <= 1``
    unscaled; here a depth that rounds to zero is an error.)

    Raises:
        ValueError: The product rounds to less than one layer.
    """
    layers = round(layers_num * deepen_factor)
    if layers < 1:
        raise ValueError(
            f'layers_num * deepen_factor = {layers_num} * {deepen_factor} '
            'rounds to no layers in a block')
    return layers


class BlockBuilder:
    """Builds the multi-scale blocks of a backbone or neck.

    Every block of the host is ``block_cfg`` with the host's ``settings``
    (kernel sizes, expansion ratios, conv/norm/act configs ...) as defaults
    (:func:`build_block`) and ``layers_num`` scaled by ``deepen_factor``
    (:func:`scaled_depth`). Arguments are copied: a later change of the
    caller's dicts does not reach the blocks.

    Args:
        block_cfg (dict): Block type and its own arguments, which take
            precedence over ``settings``.
        layers_num (int): Block depth before ``deepen_factor``.
        deepen_factor (float): Depth multiplier.
        **settings: Block arguments the host proposes for every block.
    """

    def __init__(self, block_cfg: ConfigType, layers_num: int,
                 deepen_factor: float, **settings) -> None:
        self.block_cfg = copy.deepcopy(block_cfg)
        self.layers_num = scaled_depth(layers_num, deepen_factor)
        self.settings = copy.deepcopy(settings)

    def __call__(self, in_channels: int, out_channels: int,
                 **settings) -> nn.Module:
        """A block ``in_channels -> out_channels``; ``settings`` add to (or
        replace) the host's for this position, e.g. a stage's kernels."""
        return build_block(
            self.block_cfg,
            in_channels,
            out_channels,
            **dict(self.settings, layers_num=self.layers_num, **settings))
