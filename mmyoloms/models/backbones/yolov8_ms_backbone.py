"""YOLOv8-MS backbone: the MS-Block stages of YOLO-MS (paper 000, sec.
2.1-2.3) behind YOLOv8's conv stem, as in the official YOLO-MS release."""
from typing import List, Sequence, Union

import torch.nn as nn
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from mmyolo.models.utils import make_divisible
from mmyolo.registry import MODELS
from .yoloms_backbone import YOLOMSBackbone


@MODELS.register_module(name=['YOLOv8MSBackbone', 'YOLOv8MS'])
class YOLOv8MSBackbone(YOLOMSBackbone):
    """Backbone of YOLOv8-MS: YOLOv8's 3x3 stride-2 conv stem, then the
    stages of :class:`YOLOv6MSBackbone` (3x3 stride-2 conv, MS-Block, SPPF
    after the last block, built by :class:`YOLOMSBackbone`) with YOLOv8's
    widths.

    .. code:: text

        input -> stem: 3x3 s2 conv (3 -> c0)
              -> stage1: 3x3 s2 conv (c0 -> c1) -> MSBlock k[1,3,3] (c1 -> c1)
              -> stage2: 3x3 s2 conv (c1 -> c2) -> MSBlock k[1,5,5]  (out 2)
              -> stage3: 3x3 s2 conv (c2 -> c3) -> MSBlock k[1,7,7]  (out 3)
              -> stage4: 3x3 s2 conv (c3 -> c4) -> MSBlock k[1,9,9]
                         -> SPPF (c4 -> c4)                          (out 4)

    As in YOLOv8's CSPDarknet, widths are rounded up to a multiple of 8
    (``make_divisible(c, widen_factor)``) and the last stage's nominal
    output width is ``last_stage_out_channels``. YOLOv8-MS-n is
    ``deepen_factor=1/3, widen_factor=0.15, last_stage_out_channels=1280``
    (widths 16, 24, 48, 96, 192).

    Args:
        arch (str): Architecture, one of ``arch_settings``.
            Defaults to ``'C3-K3579'``.
        last_stage_out_channels (int): Nominal output width of the last
            stage (replaces the last arch row's). Defaults to 1024.
        deepen_factor (float): Depth multiplier. Defaults to 1.0.
        widen_factor (float): Width multiplier. Defaults to 1.0.
        input_channels (int): Image channels. Defaults to 3.
        out_indices (Sequence[int]): Output layers (0 is the stem).
            Defaults to (2, 3, 4).
        frozen_stages (int): Layers to freeze, -1 freezes none.
            Defaults to -1.
        plugins (list[dict], optional): Stage plugins, appended at the end
            of the stage (see :class:`BaseBackbone`). Defaults to None.
        arch_setting (list, optional): Overrides ``arch``'s rows.
            Defaults to None.
        in_expand_ratio (float): MSBlock ``in_expand_ratio``. Defaults to 3.
        mid_expand_ratio (float): MSBlock ``mid_expand_ratio``.
            Defaults to 2.
        layers_num (int): Block depth before ``deepen_factor``.
            Defaults to 3.
        in_down_ratio (int): MSBlock ``in_down_ratio``. Defaults to 1.
        spp_cfg (dict, optional): Arguments of the last stage's
            ``SPPFBottleneck`` besides its channels. Defaults to None: its
            own defaults (pooling kernel 5, BN momentum 0.03 eps 0.001,
            SiLU), as in the official release.
        block_cfg (dict): Block of each stage; channels are injected.
            Defaults to ``dict(type='MSBlock')``.
        attention_cfg (dict, optional): Attention at the end of each block,
            e.g. ``dict(type='SEAttention')``. Defaults to None.
        conv_cfg (dict, optional): Conv config. Defaults to None.
        norm_cfg (dict): Norm config.
            Defaults to ``dict(type='BN', momentum=0.03, eps=0.001)``.
        act_cfg (dict): Activation config.
            Defaults to ``dict(type='SiLU', inplace=True)``.
        norm_eval (bool): Keep BN layers in eval mode. Defaults to False.
        init_cfg (dict or list[dict], optional): Init config. Defaults to
            None: every conv, the stem's included, gets PyTorch's default
            (Kaiming uniform, a=sqrt(5)), as in YOLOv8's CSPDarknet.

    Example:
        >>> import torch
        >>> model = YOLOv8MSBackbone(last_stage_out_channels=1280,
        ...                          deepen_factor=1 / 3, widen_factor=0.15)
        >>> [o.shape[1:] for o in model(torch.rand(1, 3, 320, 320))]
        [torch.Size([48, 40, 40]), torch.Size([96, 20, 20]), torch.Size([192, 10, 10])]
    """
    yolov6_layout = True

    def __init__(self,
                 arch: str = 'C3-K3579',
                 last_stage_out_channels: int = 1024,
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
                 spp_cfg: OptConfigType = None,
                 block_cfg: ConfigType = dict(type='MSBlock'),
                 attention_cfg: OptConfigType = None,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 norm_eval: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        if isinstance(last_stage_out_channels, bool) or not isinstance(
                last_stage_out_channels, int) or last_stage_out_channels < 1:
            raise ValueError('last_stage_out_channels must be an int >= 1, '
                             f'got {last_stage_out_channels!r}')
        self.last_stage_out_channels = last_stage_out_channels
        super().__init__(
            arch=arch,
            deepen_factor=deepen_factor,
            widen_factor=widen_factor,
            input_channels=input_channels,
            out_indices=out_indices,
            frozen_stages=frozen_stages,
            plugins=plugins,
            arch_setting=arch_setting,
            in_expand_ratio=in_expand_ratio,
            mid_expand_ratio=mid_expand_ratio,
            layers_num=layers_num,
            in_down_ratio=in_down_ratio,
            spp_cfg=spp_cfg,
            block_cfg=block_cfg,
            attention_cfg=attention_cfg,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            norm_eval=norm_eval,
            init_cfg=init_cfg)

    def width(self, channels: int) -> int:
        """A nominal width scaled by ``widen_factor`` and rounded up to a
        multiple of 8 (YOLOv8 rounding)."""
        return make_divisible(channels, self.widen_factor)

    def stage_setting(self, stage_idx: int, setting: list) -> list:
        """The arch row with the last stage's output width replaced."""
        setting = list(setting)
        if stage_idx == len(self.arch_setting) - 1:
            setting[1] = self.last_stage_out_channels
        return setting

    def build_stem_layer(self) -> nn.Module:
        """3x3 stride-2 conv: image -> first stage input."""
        return self._conv(
            self.input_channels,
            self.width(self.arch_setting[0][0]),
            stride=2)

    def init_weights(self) -> None:
        """PyTorch's default init for every conv when ``init_cfg`` is None.

        (A Kaiming ``init_cfg`` is not enough here: mmengine then also
        calls the stem ConvModule's own ``init_weights``, which redraws it
        from a normal distribution.)
        """
        if self.init_cfg is None:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    m.reset_parameters()
        else:
            super().init_weights()
