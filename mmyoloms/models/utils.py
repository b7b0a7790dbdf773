"""Helpers shared by the YOLO-MS backbone and neck."""
import copy
import math

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
