"""YOLOv6's RepPAFPN with MS-Blocks (YOLOv6-MS neck, official YOLO-MS
release)."""
from typing import Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.utils import ConfigType, OptMultiConfig

from mmyolo.models.necks import YOLOv6RepPAFPN
from mmyolo.registry import MODELS
from ..layers.split_channels import check_kernel_sizes
from ..utils import BlockBuilder, copy_cfg


@MODELS.register_module()
class YOLOv6MSPAFPN(YOLOv6RepPAFPN):
    """YOLOv6's RepPAFPN whose RepStageBlocks are MS-Blocks.

    Everything but the blocks is YOLOv6's (:class:`YOLOv6RepPAFPN`): a 1x1
    reduce conv on the top level, 2x2 stride-2 transposed-conv upsampling,
    the upsampled feature concatenated before the lateral one, 3x3
    stride-2 downsampling, no output convs.

    .. code:: text

        R5 = 1x1 conv(C5)
        T4 = 1x1 conv(MSBlock(cat[upT(R5), C4]))
        P3 = MSBlock(cat[upT(T4), C3])               -> out0 (stride 8)
        P4 = MSBlock(cat[down(P3), T4])              -> out1 (stride 16)
        P5 = MSBlock(cat[down(P4), R5])              -> out2 (stride 32)

        upT: 2x2 stride-2 transposed conv, down: 3x3 stride-2 conv

    Channels (nominal): R5 ``out[1]``; the upper top-down block maps
    ``out[1] + in[1] -> out[1]`` and its 1x1 conv to ``out[0]`` (T4); the
    lower one ``out[0] + in[0] -> out[0]``; the bottom-up blocks
    ``2 * out[i] -> out[i + 1]``.

    Widths are ``int(c * widen_factor)`` of the nominal ``in_channels``
    (backbone levels) and ``out_channels`` (outputs); blocks are built
    from ``block_cfg`` with kernels ``kernel_sizes`` and ``layers_num =
    round(layers_num * deepen_factor)``. YOLOv6-MS-t: ``in_channels=(320,
    640, 1280), out_channels=(160, 320, 640)``, deepen 1/3, widen 0.35.

    Args:
        in_channels (Sequence[int]): Nominal backbone widths, three levels.
        out_channels (Sequence[int]): Nominal output widths, three levels.
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
            None (YOLOv6RepPAFPN resets every conv to PyTorch's default).

    Example:
        >>> import torch
        >>> neck = YOLOv6MSPAFPN([320, 640, 1280], [160, 320, 640],
        ...                      deepen_factor=1 / 3, widen_factor=0.35)
        >>> feats = [torch.rand(1, c, s, s)
        ...          for c, s in zip([112, 224, 448], [40, 20, 10])]
        >>> [o.shape[1:] for o in neck(feats)]
        [torch.Size([56, 40, 40]), torch.Size([112, 20, 20]), torch.Size([224, 10, 10])]
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
        for name, value in (('in_channels', in_channels),
                            ('out_channels', out_channels)):
            if isinstance(value, (int, str)) or len(value) != 3:
                raise ValueError(
                    f'{name} must give three levels (YOLOv6\'s RepPAFPN '
                    f'has three), got {value!r}')
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
            block_cfg=copy_cfg(block_cfg),
            init_cfg=copy_cfg(init_cfg))

    def width(self, channels: int) -> int:
        """A nominal width scaled by ``widen_factor`` (YOLOv6 rounding)."""
        return int(channels * self.widen_factor)

    def build_top_down_layer(self, idx: int) -> nn.Module:
        """Block on [upsampled, lateral] (``out[idx-1] + in[idx-1] ->
        out[idx-1]``); above the lowest level followed by a 1x1 conv to
        ``out[idx-2]``, the width the next upsampling takes."""
        block = self.build_block(
            self.width(self.out_channels[idx - 1]) +
            self.width(self.in_channels[idx - 1]),
            self.width(self.out_channels[idx - 1]))
        if idx == 1:
            return block
        return nn.Sequential(
            block,
            ConvModule(
                self.width(self.out_channels[idx - 1]),
                self.width(self.out_channels[idx - 2]),
                1,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg))

    def build_bottom_up_layer(self, idx: int) -> nn.Module:
        """Block on [downsampled, top-down] (``2 * out[idx] ->
        out[idx+1]``)."""
        return self.build_block(2 * self.width(self.out_channels[idx]),
                                self.width(self.out_channels[idx + 1]))
