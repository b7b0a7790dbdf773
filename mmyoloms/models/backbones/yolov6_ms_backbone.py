"""YOLOv6-MS backbone: the MS-Block stages of YOLO-MS (paper 000, sec.
2.1-2.3) behind YOLOv6's RepVGG stem, as in the official YOLO-MS release."""
from typing import List, Sequence, Union

import torch.nn as nn
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from mmyolo.registry import MODELS
from ..utils import KAIMING_CONV_INIT, build_module, copy_cfg
from .yoloms_backbone import YOLOMSBackbone


@MODELS.register_module(name=['YOLOv6MSBackbone', 'YOLOv6MS'])
class YOLOv6MSBackbone(YOLOMSBackbone):
    """Backbone of YOLOv6-MS: YOLOv6's RepVGG stem, then four stages of a
    3x3 stride-2 conv and an MS-Block whose kernel grows with depth, with
    an SPPF block after the last stage's MS-Block.

    .. code:: text

        input -> stem: RepVGGBlock 3x3 s2 (3 -> c0)
              -> stage1: 3x3 s2 conv (c0 -> c1) -> MSBlock k[1,3,3] (c1 -> c1)
              -> stage2: 3x3 s2 conv (c1 -> c2) -> MSBlock k[1,5,5]  (out 2)
              -> stage3: 3x3 s2 conv (c2 -> c3) -> MSBlock k[1,7,7]  (out 3)
              -> stage4: 3x3 s2 conv (c3 -> c4) -> MSBlock k[1,9,9]
                         -> SPPF (c4 -> c4)                          (out 4)

    It differs from :class:`YOLOMSBackbone`, which builds its stages, in
    the stem, in the stage conv, which goes straight to the stage's output
    width (the MS-Block keeps it), and in the place of SPPF: after the
    block (``stage4.2``), not before it (``yolov6_layout``). Widths are ``int(c * widen_factor)``
    of the arch rows ``[in_channels, out_channels, kernel_sizes,
    use_spp]`` (the stem gives the first row's ``in_channels``); YOLOv6-MS-t
    is ``deepen_factor=1/3, widen_factor=0.35``. MS-Blocks are built from
    ``block_cfg`` with ``layers_num = round(layers_num * deepen_factor)``.

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
        stem_cfg (dict): The stem block, built with ``in_channels``,
            ``out_channels``, ``kernel_size=3`` and ``stride=2`` injected.
            Defaults to ``dict(type='RepVGGBlock')``, which then keeps
            RepVGGBlock's own norm and activation (BN momentum 0.03 eps
            0.001, ReLU), as in YOLOv6's EfficientRep and the official
            YOLOv6-MS; set them here to change them.
        block_cfg (dict): Block of each stage; channels are injected.
            Defaults to ``dict(type='MSBlock')``.
        attention_cfg (dict, optional): Attention at the end of each block,
            e.g. ``dict(type='SEAttention')``. Defaults to None.
        conv_cfg (dict, optional): Conv config of the stage convs and
            blocks. Defaults to None.
        norm_cfg (dict): Norm config of the stage convs and blocks.
            Defaults to ``dict(type='BN', momentum=0.03, eps=0.001)``.
        act_cfg (dict): Activation config of the stage convs and blocks.
            Defaults to ``dict(type='SiLU', inplace=True)``.
        norm_eval (bool): Keep BN layers in eval mode. Defaults to False.
        init_cfg (dict or list[dict], optional): Init config. Defaults to
            PyTorch's conv default (Kaiming uniform, a=sqrt(5)).

    Example:
        >>> import torch
        >>> model = YOLOv6MSBackbone(deepen_factor=1 / 3, widen_factor=0.35)
        >>> [o.shape[1:] for o in model(torch.rand(1, 3, 320, 320))]
        [torch.Size([112, 40, 40]), torch.Size([224, 20, 20]), torch.Size([448, 10, 10])]
    """
    yolov6_layout = True

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
                 spp_cfg: OptConfigType = None,
                 stem_cfg: ConfigType = dict(type='RepVGGBlock'),
                 block_cfg: ConfigType = dict(type='MSBlock'),
                 attention_cfg: OptConfigType = None,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(
                     type='BN', momentum=0.03, eps=0.001),
                 act_cfg: ConfigType = dict(type='SiLU', inplace=True),
                 norm_eval: bool = False,
                 init_cfg: OptMultiConfig = KAIMING_CONV_INIT) -> None:
        if not isinstance(stem_cfg, dict) or 'type' not in stem_cfg:
            raise ValueError(
                f'stem_cfg must be a dict with a "type", got {stem_cfg!r}')
        self.stem_cfg = copy_cfg(stem_cfg)
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

    def build_stem_layer(self) -> nn.Module:
        """RepVGG-style 3x3 stride-2 block: image -> first stage input."""
        cfg = copy_cfg(self.stem_cfg)
        cfg.update(
            in_channels=self.input_channels,
            out_channels=self.width(self.arch_setting[0][0]),
            kernel_size=3,
            stride=2)
        return build_module(cfg)
