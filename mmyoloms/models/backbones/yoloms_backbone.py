"""YOLO-MS backbone (paper 000, sec. 2.2-2.3)."""
from typing import List, Sequence, Union

import torch.nn as nn
from mmcv.cnn import ConvModule, build_plugin_layer
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from mmyolo.models.backbones import BaseBackbone
from mmyolo.models.layers import SPPFBottleneck
from mmyolo.registry import MODELS
from ..utils import KAIMING_CONV_INIT, BlockBuilder, copy_cfg


@MODELS.register_module()
class YOLOMSBackbone(BaseBackbone):
    """Backbone of YOLO-MS: a 3-conv stem and four MS-Block stages whose
    kernel grows with depth (heterogeneous kernel selection protocol).

    .. code:: text

        input -> stem (3x3 s2, 3x3, 3x3)
              -> stage1: 3x3 s2 conv -> MSBlock k[1,3,3]
              -> stage2: 3x3 s2 conv -> MSBlock k[1,5,5]   (out_indices 2)
              -> stage3: 3x3 s2 conv -> MSBlock k[1,7,7]   (out_indices 3)
              -> stage4: 3x3 s2 conv -> SPPF -> MSBlock k[1,9,9] (4)

    Each arch setting row is ``[in_channels, out_channels, kernel_sizes,
    use_spp]`` before ``widen_factor``. The block of each stage is built
    from ``block_cfg`` (default :class:`MSBlock`) with the stage's
    ``kernel_sizes`` and ``layers_num = round(layers_num *
    deepen_factor)`` (:func:`~mmyoloms.models.utils.scaled_depth`: the
    official release truncates here and rounds in the neck, the same for
    its 1/3 and 2/3; rounding also gives mmyolo's 0.33 and 0.67 their
    depth), so another block (e.g. ``Res2Block``) can be swapped in by
    config.

    The stages are built here for the YOLOv6-MS and YOLOv8-MS backbones
    too (subclasses), whose stage conv goes straight to the stage's output
    width and whose SPPF follows the block (``yolov6_layout``); a subclass
    changes the stem, :meth:`width` and :meth:`stage_setting`.

    Args:
        arch (str): Architecture, one of ``arch_settings``.
            Defaults to ``'C3-K3579'``.
        deepen_factor (float): Depth multiplier. Defaults to 1.0.
        widen_factor (float): Width multiplier. Defaults to 1.0.
        input_channels (int): Image channels. Defaults to 3.
        out_indices (Sequence[int]): Output layers (0 is the stem).
            Defaults to (2, 3, 4).
        frozen_stages (int): Layers to freeze, -1 freezes none.
            Defaults to -1.
        plugins (list[dict], optional): Stage plugins, appended after the
            stage's block (see :class:`BaseBackbone`). Defaults to None.
        arch_setting (list, optional): Overrides ``arch``'s rows.
            Defaults to None.
        in_expand_ratio (float): MSBlock ``in_expand_ratio``. Defaults to 3.
        mid_expand_ratio (float): MSBlock ``mid_expand_ratio``.
            Defaults to 2.
        layers_num (int): Block depth before ``deepen_factor``.
            Defaults to 3.
        in_down_ratio (int): MSBlock ``in_down_ratio``. Defaults to 1.
        down_ratio (int): Width multiplier of each stage's downsampling
            conv (``in -> in * down_ratio``). Defaults to 1.
        spp_cfg (dict, optional): Arguments of the last stage's
            ``SPPFBottleneck`` besides its channels, e.g.
            ``dict(kernel_sizes=5, norm_cfg=norm_cfg, act_cfg=act_cfg)``.
            Defaults to None: the block is built with its channels only and
            keeps ``SPPFBottleneck``'s own defaults (pooling kernel 5, BN
            momentum 0.03 and eps 0.001, SiLU), as in the official release
            (so it does not follow this backbone's ``conv_cfg`` /
            ``norm_cfg`` / ``act_cfg`` unless they are passed here).
        block_cfg (dict): Block of each stage; channels are injected.
            Defaults to ``dict(type='MSBlock')``.
        attention_cfg (dict, optional): Attention at the end of each block,
            e.g. ``dict(type='SEAttention')``. Defaults to None.
        conv_cfg (dict, optional): Conv config. Defaults to None.
        norm_cfg (dict): Norm config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config.
            Defaults to ``dict(type='SiLU', inplace=True)``.
        norm_eval (bool): Keep BN layers in eval mode. Defaults to False.
        init_cfg (dict or list[dict], optional): Init config. Defaults to
            PyTorch's conv default (Kaiming uniform, a=sqrt(5)).

    Example:
        >>> import torch
        >>> model = YOLOMSBackbone(deepen_factor=1 / 3, widen_factor=0.4)
        >>> [o.shape[1:] for o in model(torch.rand(1, 3, 320, 320))]
        [torch.Size([128, 40, 40]), torch.Size([256, 20, 20]), torch.Size([512, 10, 10])]
    """
    arch_settings = {
        'C3-K3579': [[80, 160, [1, 3, 3], False],
                     [160, 320, [1, 5, 5], False],
                     [320, 640, [1, 7, 7], False],
                     [640, 1280, [1, 9, 9], True]],
    }
    # False: conv in -> in * down_ratio, SPPF, block -> out (YOLO-MS);
    # True: conv in -> out, block out -> out, SPPF (YOLOv6/v8-MS).
    yolov6_layout = False

    def __init__(self,
                 arch: str = 'C3-K3579',
                 deepen_factor: float = 1.0,
                 widen_factor: float = 1.0,
                 input_channels: int = 3,
                 out_indices: Sequence[int] = (2, 3, 4),
                 frozen_stages: int = -1,
                 plugins: Union[dict, List[dict], None] = None,
                 arch_setting: OptConfigType = None,
                 in_expand_ratio: float = 3.,
                 mid_expand_ratio: float = 2.,
                 layers_num: int = 3,
                 in_down_ratio: int = 1,
                 down_ratio: int = 1,
                 spp_cfg: OptConfigType = None,
                 block_cfg: ConfigType = dict(type='MSBlock'),
                 attention_cfg: OptConfigType = None,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 norm_eval: bool = False,
                 init_cfg: OptMultiConfig = KAIMING_CONV_INIT) -> None:
        if arch_setting is None:
            if arch not in self.arch_settings:
                raise ValueError(
                    f'arch must be one of {sorted(self.arch_settings)}, '
                    f'got {arch!r}')
            arch_setting = self.arch_settings[arch]
        arch_setting = [list(row) for row in arch_setting]
        num_layers = len(arch_setting) + 1
        out_indices = tuple(out_indices)
        if len(out_indices) == 0 or any(
                not isinstance(i, int) or not 0 <= i < num_layers
                for i in out_indices):
            raise ValueError(
                f'out_indices must be a non-empty subset of '
                f'range({num_layers}) (0 is the stem), got {out_indices}')
        if not isinstance(frozen_stages, int) or not (
                -1 <= frozen_stages < num_layers):
            raise ValueError(f'frozen_stages must be an int in [-1, '
                             f'{num_layers - 1}], got {frozen_stages}')
        if not isinstance(down_ratio, int) or down_ratio < 1:
            raise ValueError(
                f'down_ratio must be an int >= 1, got {down_ratio}')
        self.conv_cfg = copy_cfg(conv_cfg)
        self.down_ratio = down_ratio
        if spp_cfg is not None and ({'in_channels', 'out_channels'}
                                    & set(spp_cfg)):
            raise ValueError(
                'spp_cfg must not set in_channels/out_channels (the stage '
                f'gives the SPPF block its channels), got {spp_cfg}')
        self.spp_cfg = copy_cfg(spp_cfg) or {}
        self.build_block = BlockBuilder(
            block_cfg,
            layers_num,
            deepen_factor,
            in_expand_ratio=in_expand_ratio,
            mid_expand_ratio=mid_expand_ratio,
            in_down_ratio=in_down_ratio,
            attention_cfg=attention_cfg,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        super().__init__(
            arch_setting,
            deepen_factor=deepen_factor,
            widen_factor=widen_factor,
            input_channels=input_channels,
            out_indices=out_indices,
            frozen_stages=frozen_stages,
            plugins=copy_cfg(plugins),
            norm_cfg=copy_cfg(norm_cfg),
            act_cfg=copy_cfg(act_cfg),
            norm_eval=norm_eval,
            init_cfg=copy_cfg(init_cfg))

    def width(self, channels: int) -> int:
        """A nominal width scaled by ``widen_factor`` (truncated)."""
        return int(channels * self.widen_factor)

    def stage_setting(self, stage_idx: int, setting: list) -> list:
        """The arch row a stage is built from (a subclass may change it)."""
        return setting

    def _conv(self, in_channels: int, out_channels: int, stride: int = 1):
        return ConvModule(
            in_channels,
            out_channels,
            3,
            stride=stride,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def build_stem_layer(self) -> nn.Module:
        """Three 3x3 convs: 3 -> c/2 (stride 2) -> c/2 -> c."""
        channels = self.width(self.arch_setting[0][0])
        half = int(self.arch_setting[0][0] * self.widen_factor // 2)
        return nn.Sequential(
            self._conv(self.input_channels, half, stride=2),
            self._conv(half, half), self._conv(half, channels))

    def build_stage_layer(self, stage_idx: int, setting: list) -> list:
        """Downsampling conv, then the block and, where the row asks for
        it, SPPF, in the order of ``yolov6_layout``."""
        in_channels, out_channels, kernel_sizes, use_spp = \
            self.stage_setting(stage_idx, setting)
        in_channels = self.width(in_channels)
        out_channels = self.width(out_channels)
        if self.yolov6_layout:
            conv_channels = spp_channels = out_channels
        else:
            conv_channels = spp_channels = in_channels * self.down_ratio
        def spp():
            return [SPPFBottleneck(spp_channels, spp_channels,
                                   **copy_cfg(self.spp_cfg))
                    ] if use_spp else []

        def block():
            return [self.build_block(
                conv_channels, out_channels, kernel_sizes=kernel_sizes)]

        # Built in their order in the stage, so that a seeded model draws
        # its initial weights in the same order as before (and as the
        # official release does).
        stage = [self._conv(in_channels, conv_channels, stride=2)]
        for part in ((block, spp) if self.yolov6_layout else (spp, block)):
            stage += part()
        return stage

    def make_stage_plugins(self, plugins: List[dict], stage_idx: int,
                           setting: list) -> list:
        """Plugins of a stage, built for the stage's output width.

        mmyolo's version takes ``int(out_channels * widen_factor)`` of the
        arch row, which is not a subclass's width when it rounds otherwise
        (YOLOv8's ``make_divisible``) or replaces the row.
        """
        channels = self.width(self.stage_setting(stage_idx, setting)[1])
        layers = []
        for plugin in plugins:
            plugin = dict(plugin)
            stages = plugin.pop('stages', None)
            if stages is not None and len(stages) != self.num_stages:
                raise ValueError(
                    f'plugin stages must have one entry per stage '
                    f'({self.num_stages}), got {stages}')
            if stages is None or stages[stage_idx]:
                layers.append(
                    build_plugin_layer(plugin['cfg'],
                                       in_channels=channels)[1])
        return layers


# The official release's type name, so that its configs build this backbone.
MODELS.register_module(name='YOLOMS', module=YOLOMSBackbone)
