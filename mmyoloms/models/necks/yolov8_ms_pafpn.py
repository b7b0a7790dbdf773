"""YOLOv8's PAFPN with MS-Blocks (YOLOv8-MS neck, official YOLO-MS
release)."""
from typing import Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType, OptMultiConfig

from mmyolo.models.necks import YOLOv8PAFPN
from mmyolo.models.utils import make_divisible
from mmyolo.registry import MODELS
from ..layers.split_channels import check_kernel_sizes
from ..utils import BlockBuilder, copy_cfg


@MODELS.register_module()
class YOLOv8MSPAFPN(YOLOv8PAFPN):
    """YOLOv8's PAFPN whose CSPLayerWithTwoConv blocks are MS-Blocks.

    Everything but the blocks is YOLOv8's (:class:`YOLOv8PAFPN`): no reduce
    layers, nearest x2 upsampling, the upsampled feature concatenated
    before the lateral one, 3x3 stride-2 downsampling, no output convs.

    .. code:: text

        T4 = MSBlock(cat[up(C5), C4])
        P3 = MSBlock(cat[up(T4), C3])                -> out0 (stride 8)
        P4 = MSBlock(cat[down(P3), T4])              -> out1 (stride 16)
        P5 = MSBlock(cat[down(P4), C5])              -> out2 (stride 32)

        up: nearest x2, down: 3x3 stride-2 conv

    Widths are ``make_divisible(c, widen_factor)`` (multiples of 8) of the
    nominal ``in_channels`` (backbone levels) and ``out_channels``
    (outputs); each block takes the widths of the two features it
    concatenates (``in + in`` / ``out + out`` in YOLOv8's own PAFPN, where
    both lists are equal). Blocks are built from ``block_cfg`` with
    kernels ``kernel_sizes`` and ``layers_num = round(layers_num *
    deepen_factor)``. YOLOv8-MS-n: ``in_channels = out_channels = (320,
    640, 1280)``, deepen 1/3, widen 0.15.

    Args:
        in_channels (Sequence[int]): Nominal backbone widths per level.
        out_channels (Sequence[int]): Nominal output widths per level.
        deepen_factor (float): Depth multiplier. Defaults to 1.0.
        widen_factor (float): Width multiplier. Defaults to 1.0.
        kernel_sizes (Sequence[int | tuple[int, int]]): Kernel of each
            block branch (``1`` identity). Defaults to ``(1, 3, 3)``.
        in_expand_ratio (float): Block ``in_expand_ratio``. Defaults to 3.
        mid_expand_ratio (float): Block ``mid_expand_ratio``. Defaults to 2.
        layers_num (int): Block depth before ``deepen_factor``.
            Defaults to 3.
        in_down_ratio (int): Block ``in_down_ratio``. Defaults to 2.
        block_cfg (dict): Block type; channels are injected, its other keys
            take precedence over the neck's. Defaults to
            ``dict(type='MSBlock')``.
        freeze_all (bool): Freeze the whole neck. Defaults to False.
        norm_cfg (dict): Norm config.
            Defaults to ``dict(type='BN', momentum=0.03, eps=0.001)``.
        act_cfg (dict): Activation config.
            Defaults to ``dict(type='SiLU', inplace=True)``.
        init_cfg (dict or list[dict], optional): Init config. Defaults to
            None (every conv reset to PyTorch's default, as YOLOv8PAFPN
            does).

    Example:
        >>> import torch
        >>> neck = YOLOv8MSPAFPN([320, 640, 1280], [320, 640, 1280],
        ...                      deepen_factor=1 / 3, widen_factor=0.15)
        >>> feats = [torch.rand(1, c, s, s)
        ...          for c, s in zip([48, 96, 192], [40, 20, 10])]
        >>> [o.shape[1:] for o in neck(feats)]
        [torch.Size([48, 40, 40]), torch.Size([96, 20, 20]), torch.Size([192, 10, 10])]
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: Sequence[int],
                 deepen_factor: float = 1.0,
                 widen_factor: float = 1.0,
                 kernel_sizes: Sequence = (1, 3, 3),
                 in_expand_ratio: float = 3.,
                 mid_expand_ratio: float = 2.,
                 layers_num: int = 3,
                 in_down_ratio: int = 2,
                 block_cfg: ConfigType = dict(type='MSBlock'),
                 freeze_all: bool = False,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 init_cfg: OptMultiConfig = None) -> None:
        if isinstance(in_channels, (int, str)) or len(in_channels) < 2:
            raise ValueError(f'in_channels needs at least two levels, got '
                             f'{in_channels!r}')
        if isinstance(out_channels,
                      (int, str)) or len(out_channels) != len(in_channels):
            raise ValueError(
                f'out_channels must have one entry per level of in_channels '
                f'({len(in_channels)}), got {out_channels!r}')
        self.build_block = BlockBuilder(
            block_cfg,
            layers_num,
            deepen_factor,
            kernel_sizes=check_kernel_sizes(kernel_sizes),
            in_expand_ratio=in_expand_ratio,
            mid_expand_ratio=mid_expand_ratio,
            in_down_ratio=in_down_ratio,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        super().__init__(
            in_channels=list(in_channels),
            out_channels=list(out_channels),
            deepen_factor=deepen_factor,
            widen_factor=widen_factor,
            freeze_all=freeze_all,
            norm_cfg=copy_cfg(norm_cfg),
            act_cfg=copy_cfg(act_cfg),
            init_cfg=copy_cfg(init_cfg))

    def width(self, channels: int) -> int:
        """A nominal width scaled by ``widen_factor`` and rounded up to a
        multiple of 8 (YOLOv8 rounding)."""
        return make_divisible(channels, self.widen_factor)

    def _top_width(self, idx: int) -> int:
        """Width of the top-down path's feature at level ``idx``: the
        backbone's on the top level (no reduce layer), else the top-down
        block's output."""
        if idx == len(self.in_channels) - 1:
            return self.width(self.in_channels[idx])
        return self.width(self.out_channels[idx])

    def build_top_down_layer(self, idx: int) -> nn.Module:
        """Block on [upsampled level ``idx``, lateral ``in[idx-1]``] ->
        ``out[idx-1]``."""
        return self.build_block(
            self._top_width(idx) + self.width(self.in_channels[idx - 1]),
            self.width(self.out_channels[idx - 1]))

    def build_downsample_layer(self, idx: int) -> nn.Module:
        """3x3 stride-2 conv on the output of level ``idx`` (YOLOv8's own
        PAFPN sizes it by ``in_channels``, equal there)."""
        channels = self.width(self.out_channels[idx])
        return ConvModule(
            channels,
            channels,
            3,
            stride=2,
            padding=1,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        """Block on [downsampled ``out[idx]``, top-down level ``idx+1``] ->
        ``out[idx+1]``."""
        return self.build_block(
            self.width(self.out_channels[idx]) + self._top_width(idx + 1),
            self.width(self.out_channels[idx + 1]))
