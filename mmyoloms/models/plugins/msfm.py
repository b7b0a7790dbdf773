"""MSFM: Multi-Scale Fusion Module (paper 001, ICLR 2021 submission)."""
import copy
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_conv_layer
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from mmyolo.registry import MODELS


@MODELS.register_module()
class MSFM(BaseModule):
    """Multi-Scale Fusion Module, a residual plugin block.

    .. math::

        M(x) = x + U(C[F_1(S(x)), ..., F_n(S(x))])

    .. code:: text

        x -S-+-R(s_1)-[3x3 conv, GN, ReLU] x N-R^-1-+
        |    +-R(s_2)-[3x3 conv, GN, ReLU] x N-R^-1-+-C (add | cat)-U-+
        |    +- ...                                 |                 |
        +-------------------------------------- (+) <-----------------+

    ``S`` (1x1 conv) squeezes the channels by ``ratio``; branch ``i``
    resizes the squeezed map by ``scales[i]`` (``R``, bilinear), runs
    ``N = conv_num`` x {3x3 conv (padding 1, same channels),
    GroupNorm(``norm_group``), ReLU} and resizes back (``R^-1``, bilinear)
    to the exact input size, so any input size works; ``C`` adds the
    branches (``'add'``) or concatenates them (``'cat'``, ``U`` then reads
    ``n * C / ratio`` channels); ``U`` (1x1 conv) restores the input
    channels and the result is added to ``x``.

    Choices where the paper leaves details open (the parameter budgets of
    its tables are reproduced with them; see the tests):

    - ``S`` and ``U`` are single 1x1 convs with bias and no norm or
      activation; the nonlinearity lives in the branches.
    - A branch's resized size is ``max(1, round(size * scale))`` per axis;
      a branch with scale 1 is not resized.
    - Branch convs have no bias (GroupNorm follows them).
    - Weights keep PyTorch's default initialisation.

    GroupNorm needs more than one value per group: with one squeezed
    channel per group (e.g. 32 channels, ``norm_group=32``) a branch map of
    a single pixel cannot be normalised, and PyTorch raises.

    As an mmdet ResNet plugin (``plugins=[dict(cfg=dict(type=
    'mmyolo.MSFM', ...), stages=..., position='after_conv3')]``) the host
    chooses the position (after_conv1/2/3) and injects ``in_channels``;
    several MSFMs in one block need distinct ``postfix`` keys in ``cfg``
    (the layer name is ``'msfm' + postfix``). As a YOLOMSBackbone stage
    plugin it follows the stage's block.

    Args:
        in_channels (int): Channels of the input (injected by the host).
        scales (Sequence[float]): Resize factor of each branch, > 0.
            Defaults to (0.5, 0.7, 1.0).
        ratio (int): Squeeze ratio; must divide ``in_channels``.
            Defaults to 16.
        norm_group (int, optional): Groups of the default GroupNorm; must
            divide the squeezed channels ``in_channels // ratio``. Only
            for the default norm: give either ``norm_group`` or
            ``norm_cfg``. Defaults to None, meaning 16 (the paper's).
        conv_num (int): {conv, GN, ReLU} units per branch. Defaults to 1.
        fusion (str): ``'add'`` or ``'cat'``. Defaults to ``'add'``.
        conv_cfg (dict, optional): Conv config of every conv.
            Defaults to None.
        norm_cfg (dict, optional): Norm of the branch units. Defaults to
            None, meaning ``dict(type='GN', num_groups=norm_group)``.
        act_cfg (dict): Activation of the branch units.
            Defaults to ``dict(type='ReLU')``.
        init_cfg (dict or list[dict], optional): Init config.
            Defaults to None.

    Example:
        >>> import torch
        >>> msfm = MSFM(256, scales=(0.5, 0.7, 1.0), ratio=16, norm_group=16)
        >>> msfm(torch.rand(1, 256, 25, 19)).shape
        torch.Size([1, 256, 25, 19])
    """
    _abbr_ = 'msfm'

    def __init__(self,
                 in_channels: int,
                 scales: Sequence[float] = (0.5, 0.7, 1.0),
                 ratio: int = 16,
                 norm_group: Optional[int] = None,
                 conv_num: int = 1,
                 fusion: str = 'add',
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 act_cfg: ConfigType = dict(type='ReLU'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if fusion not in ('add', 'cat'):
            raise ValueError(
                f"fusion must be 'add' or 'cat', got {fusion!r}")
        scales = tuple(scales)
        if len(scales) == 0 or any(
                isinstance(s, bool) or not isinstance(s, (int, float))
                or not s > 0 for s in scales):
            raise ValueError(
                f'scales must be a non-empty sequence of numbers > 0, '
                f'got {scales}')
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(
                f'in_channels must be a positive int, got {in_channels!r}')
        if not isinstance(ratio, int) or ratio < 1 or in_channels % ratio:
            raise ValueError(
                f'ratio must be a positive int dividing in_channels='
                f'{in_channels}, got {ratio!r}')
        squeezed = in_channels // ratio
        if norm_cfg is None:
            norm_group = 16 if norm_group is None else norm_group
            if (isinstance(norm_group, bool) or not isinstance(
                    norm_group, int) or norm_group < 1
                    or squeezed % norm_group):
                raise ValueError(
                    f'norm_group must be a positive int dividing the '
                    f'squeezed channels in_channels // ratio = {squeezed} '
                    f'(GroupNorm splits them into norm_group groups), got '
                    f'{norm_group!r}')
            norm_cfg = dict(type='GN', num_groups=norm_group)
        elif norm_group is not None:
            raise ValueError(
                'give either norm_group (the groups of the default '
                'GroupNorm) or norm_cfg, not both; got norm_group='
                f'{norm_group!r} and norm_cfg={norm_cfg}')
        if not isinstance(conv_num, int) or conv_num < 1:
            raise ValueError(f'conv_num must be an int >= 1, got {conv_num}')
        self.in_channels = in_channels
        self.scales = scales
        self.fusion = fusion
        self.squeeze = build_conv_layer(
            copy.deepcopy(conv_cfg), in_channels, squeezed, 1)
        self.branches = nn.ModuleList()
        for _ in scales:
            self.branches.append(
                nn.Sequential(*[
                    ConvModule(
                        squeezed,
                        squeezed,
                        3,
                        padding=1,
                        conv_cfg=copy.deepcopy(conv_cfg),
                        norm_cfg=copy.deepcopy(norm_cfg),
                        act_cfg=copy.deepcopy(act_cfg))
                    for _ in range(conv_num)
                ]))
        fused = squeezed * len(scales) if fusion == 'cat' else squeezed
        self.unsqueeze = build_conv_layer(
            copy.deepcopy(conv_cfg), fused, in_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        squeezed = self.squeeze(x)
        size = squeezed.shape[-2:]
        outs = []
        for scale, branch in zip(self.scales, self.branches):
            if scale == 1:
                outs.append(branch(squeezed))
                continue
            scaled = tuple(max(1, round(int(s) * scale)) for s in size)
            y = F.interpolate(
                squeezed, size=scaled, mode='bilinear', align_corners=False)
            y = F.interpolate(
                branch(y), size=size, mode='bilinear', align_corners=False)
            outs.append(y)
        if self.fusion == 'cat':
            fused = torch.cat(outs, dim=1)
        else:
            fused = outs[0]
            for y in outs[1:]:
                fused = fused + y
        return x + self.unsqueeze(fused)
