"""Path aggregation neck of YOLO-MS, built from MS-Blocks."""
from typing import List, Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from mmyolo.models.necks import BaseYOLONeck
from mmyolo.registry import MODELS
from ..utils import KAIMING_CONV_INIT, BlockBuilder, copy_cfg


@MODELS.register_module()
class YOLOMSPAFPN(BaseYOLONeck):
    """PAFPN of YOLO-MS: reduce, top-down and bottom-up MS-Blocks.

    .. code:: text

        C3 -reduce-> m0 ----------- cat -> block -> P3' -3x3 s2- cat -> block -> P4' ...
        C4 -reduce-> m1 -- cat -> block -> 1x1 -+up        |            |
        C5 -reduce-> m2 -> 1x1 -+up                        out 3x3      out 3x3

    Channels (before ``widen_factor``): reduce layers project
    ``in_channels[i] -> mid_channels[i]`` with a 1x1 conv where they differ
    (identity otherwise) and the top level further by 1x1 to
    ``mid_channels[-2]``; top-down blocks map ``2 * mid[i-1] -> mid[i-1]``
    (all but the last followed by a 1x1 to ``mid[i-2]``); bottom-up blocks
    map ``2 * mid[i] -> mid[i+1]`` after a 3x3 stride-2 conv; 3x3 output
    convs map ``mid[i] -> out_channels``. Blocks use ``block_cfg``
    (default :class:`MSBlock`, kernels ``[1, 3, 3]``, ``in_down_ratio=2``)
    with ``layers_num = round(layers_num * deepen_factor)``
    (:func:`~mmyoloms.models.utils.scaled_depth`, as in the official
    release).

    Args:
        in_channels (Sequence[int]): Backbone channels per level.
        out_channels (int): Output channels of every level.
        mid_channels (Sequence[int]): Channels inside the neck per level.
        deepen_factor (float): Depth multiplier. Defaults to 1.0.
        widen_factor (float): Width multiplier. Defaults to 1.0.
        kernel_sizes (Sequence[int | tuple[int, int]]): Kernel per block
            branch (``1`` identity, ``k`` or ``(k, k)``).
            Defaults to ``(1, 3, 3)``.
        in_expand_ratio (float): Block ``in_expand_ratio``. Defaults to 3.
        mid_expand_ratio (float): Block ``mid_expand_ratio``. Defaults to 2.
        layers_num (int): Block depth before ``deepen_factor``.
            Defaults to 3.
        in_down_ratio (int): Block ``in_down_ratio``. Defaults to 2.
        block_cfg (dict): Block type; channels are injected.
            Defaults to ``dict(type='MSBlock')``.
        freeze_all (bool): Freeze the whole neck. Defaults to False.
        upsample_feats_cat_first (bool): Concatenate the upsampled feature
            first. Defaults to True.
        conv_cfg (dict, optional): Conv config. Defaults to None.
        norm_cfg (dict): Norm config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config.
            Defaults to ``dict(type='SiLU', inplace=True)``.
        init_cfg (dict or list[dict], optional): Init config. Defaults to
            PyTorch's conv default (Kaiming uniform, a=sqrt(5)).

    Example:
        >>> import torch
        >>> neck = YOLOMSPAFPN([320, 640, 1280], 240, [160, 320, 640],
        ...                    deepen_factor=1 / 3, widen_factor=0.4)
        >>> feats = [torch.rand(1, c, s, s)
        ...          for c, s in zip([128, 256, 512], [40, 20, 10])]
        >>> [o.shape[1:] for o in neck(feats)]
        [torch.Size([96, 40, 40]), torch.Size([96, 20, 20]), torch.Size([96, 10, 10])]
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 mid_channels: Sequence[int],
                 deepen_factor: float = 1.0,
                 widen_factor: float = 1.0,
                 kernel_sizes: Sequence[int] = (1, 3, 3),
                 in_expand_ratio: float = 3.,
                 mid_expand_ratio: float = 2.,
                 layers_num: int = 3,
                 in_down_ratio: int = 2,
                 block_cfg: ConfigType = dict(type='MSBlock'),
                 freeze_all: bool = False,
                 upsample_feats_cat_first: bool = True,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = KAIMING_CONV_INIT) -> None:
        if len(in_channels) < 2:
            raise ValueError(f'in_channels needs at least two levels, '
                             f'got {list(in_channels)}')
        if len(mid_channels) != len(in_channels):
            raise ValueError(
                f'mid_channels must have one entry per level of in_channels '
                f'({len(in_channels)}), got {list(mid_channels)}')
        if not isinstance(out_channels, int):
            raise ValueError(
                f'out_channels must be an int, got {out_channels!r}')
        self.mid_channels = [int(c * widen_factor) for c in mid_channels]
        self.build_block = BlockBuilder(
            block_cfg,
            layers_num,
            deepen_factor,
            kernel_sizes=list(kernel_sizes),
            in_expand_ratio=in_expand_ratio,
            mid_expand_ratio=mid_expand_ratio,
            in_down_ratio=in_down_ratio,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.conv_cfg = copy_cfg(conv_cfg)
        super().__init__(
            in_channels=[int(c * widen_factor) for c in in_channels],
            out_channels=int(out_channels * widen_factor),
            deepen_factor=deepen_factor,
            widen_factor=widen_factor,
            upsample_feats_cat_first=upsample_feats_cat_first,
            freeze_all=freeze_all,
            norm_cfg=copy_cfg(norm_cfg),
            act_cfg=copy_cfg(act_cfg),
            init_cfg=copy_cfg(init_cfg))

    def _conv(self, in_channels: int, out_channels: int, kernel_size: int,
              stride: int = 1) -> ConvModule:
        return ConvModule(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def build_reduce_layer(self, idx: int) -> nn.Module:
        layers: List[nn.Module] = []
        if self.in_channels[idx] != self.mid_channels[idx]:
            layers.append(
                self._conv(self.in_channels[idx], self.mid_channels[idx], 1))
        if idx == len(self.in_channels) - 1:
            layers.append(
                self._conv(self.mid_channels[idx], self.mid_channels[idx - 1],
                           1))
        return nn.Sequential(*layers) if layers else nn.Identity()

    def build_upsample_layer(self, idx: int) -> nn.Module:
        return nn.Upsample(scale_factor=2, mode='nearest')

    def build_top_down_layer(self, idx: int) -> nn.Module:
        block = self.build_block(self.mid_channels[idx - 1] * 2,
                                 self.mid_channels[idx - 1])
        if idx == 1:
            return block
        return nn.Sequential(
            block,
            self._conv(self.mid_channels[idx - 1], self.mid_channels[idx - 2],
                       1))

    def build_downsample_layer(self, idx: int) -> nn.Module:
        return self._conv(
            self.mid_channels[idx], self.mid_channels[idx], 3, stride=2)

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        return self.build_block(self.mid_channels[idx] * 2,
                                self.mid_channels[idx + 1])

    def build_out_layer(self, idx: int) -> nn.Module:
        return self._conv(self.mid_channels[idx], self.out_channels, 3)
