"""SMSL: Selective Multi-Scale Learning (paper 003)."""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import NonLocal2d
from mmdet.utils import OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from mmyolo.registry import MODELS


@MODELS.register_module()
class SelectiveCombinationLayer(BaseModule):
    """Selective combination of ``L`` same-size feature maps (SMSL, eqs.
    (9)-(13)): per-channel softmax weights over the levels, predicted from
    a global context vector.

    ``z = ReLU(LN(FC_1 g))``, ``M = FC_2 z`` reshaped to ``(L, C)``,
    ``A = softmax(M)`` over the levels, ``F = sum_i A_i * Q_i``.

    Args:
        channels (int): Channels ``C`` of every level.
        num_levels (int): Number of levels ``L``.
        reduction (int): ``FC_1`` maps ``C -> C / reduction``.
            Defaults to 8.
        init_cfg (dict or list[dict], optional): Init config.
            Defaults to None.
    """

    def __init__(self,
                 channels: int,
                 num_levels: int,
                 reduction: int = 8,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        hidden = channels // reduction
        self.num_levels = num_levels
        self.fc1 = nn.Linear(channels, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.fc2 = nn.Linear(hidden, num_levels * channels)

    def forward(self, feats: Tensor, context: Tensor) -> Tensor:
        """Combine ``feats`` (N, L, C, H, W) with weights from ``context``
        (N, C); returns (N, C, H, W)."""
        n, num_levels, c = feats.shape[:3]
        z = F.relu(self.norm(self.fc1(context)))
        weights = self.fc2(z).view(n, num_levels, c).softmax(dim=1)
        return (feats * weights[..., None, None]).sum(dim=1)


@MODELS.register_module()
class SMSL(BaseModule):
    """Selective Multi-Scale Learning, a neck that follows FPN / PAFPN.

    .. code:: text

        P_1..P_L --gather to the middle level's size--> cat (L*C)
          --> channel rescaling x * sigmoid(FC(ReLU(FC(GAP(x))))), r = 8
          --> split into Q_1..Q_L, g = GAP(sum_i Q_i)
          --> local  F^l = sum_i softmax_i(SC_l(g)) * Q_i     for every level l
          --> global G   = NonLocal(sum_i softmax_i(SC_g(g)) * Q_i)
          --> out_l = resize(F^l + G, size of P_l) + P_l

    where ``SC`` is a :class:`SelectiveCombinationLayer` (FC, LayerNorm,
    ReLU, FC to ``L * C``, softmax over the levels per channel), one per
    level and one for the global feature, and the non-local block is
    mmcv's embedded-Gaussian :class:`~mmcv.cnn.NonLocal2d`. The gather
    level is the middle one, ``num_levels // 2``. Resizing follows BFP
    (the module SMSL extends): levels finer than the gather level are
    reduced by adaptive max pooling to its exact size and coarser levels
    enlarged by nearest interpolation; scattering back does the reverse,
    to each level's exact size, so any level sizes work.

    Choices where the paper leaves details open (together they reproduce
    its parameter count, +0.98 M on RetinaNet R50-FPN; see the tests): the
    FC layers have biases; the non-local block is BFP's (no channel
    reduction, ``use_scale=False``, output conv initialised to zero so
    that it starts as identity).

    Used in a detector config as ``neck=[dict(type='FPN', ...),
    dict(type='mmyolo.SMSL', in_channels=256, num_levels=5)]`` (mmdet
    scope) or ``neck=[dict(type='YOLOMSPAFPN', ...), dict(type='SMSL',
    ...)]`` (mmyolo scope); mmengine builds a list as a Sequential.

    Args:
        in_channels (int): Channels of every input level.
        num_levels (int): Number of input levels, >= 2.
        reduction (int): Reduction ratio ``r`` of the channel rescaling
            and selective combination FCs; must divide ``in_channels``.
            Defaults to 8.
        nonlocal_reduction (int): Channel reduction inside the non-local
            block. Defaults to 1.
        conv_cfg (dict, optional): Conv config of the non-local block.
            Defaults to None.
        norm_cfg (dict, optional): Norm config of the non-local output
            conv. Defaults to None.
        init_cfg (dict or list[dict], optional): Init config.
            Defaults to None.

    Example:
        >>> import torch
        >>> neck = SMSL(in_channels=16, num_levels=3)
        >>> feats = [torch.rand(1, 16, s, s) for s in (40, 20, 10)]
        >>> [o.shape[-1] for o in neck(feats)]
        [40, 20, 10]
    """

    def __init__(self,
                 in_channels: int,
                 num_levels: int,
                 reduction: int = 8,
                 nonlocal_reduction: int = 1,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError('in_channels must be a positive int (the '
                             f'channels of every level), got {in_channels!r}')
        if not isinstance(num_levels, int) or num_levels < 2:
            raise ValueError(
                f'num_levels must be an int >= 2, got {num_levels!r}')
        if (not isinstance(reduction, int) or reduction < 1
                or in_channels % reduction):
            raise ValueError(
                f'reduction must be a positive int dividing in_channels='
                f'{in_channels}, got {reduction!r}')
        if not isinstance(nonlocal_reduction, int) or not (
                1 <= nonlocal_reduction <= in_channels):
            raise ValueError(
                'nonlocal_reduction must be an int in [1, in_channels], '
                f'got {nonlocal_reduction!r}')
        self.in_channels = in_channels
        self.num_levels = num_levels
        self.refine_level = num_levels // 2
        cat_channels = in_channels * num_levels
        self.channel_rescale = nn.Sequential(
            nn.Linear(cat_channels, cat_channels // reduction),
            nn.ReLU(inplace=True),
            nn.Linear(cat_channels // reduction, cat_channels), nn.Sigmoid())
        self.local_combinations = nn.ModuleList([
            SelectiveCombinationLayer(in_channels, num_levels, reduction)
            for _ in range(num_levels)
        ])
        self.global_combination = SelectiveCombinationLayer(
            in_channels, num_levels, reduction)
        self.refine = NonLocal2d(
            in_channels,
            reduction=nonlocal_reduction,
            use_scale=False,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg)

    @staticmethod
    def _resize(x: Tensor, size: torch.Size, pool: bool) -> Tensor:
        """Resize ``x`` to exactly ``size``: by adaptive max pooling when
        ``pool`` (towards a coarser level), else by nearest
        interpolation."""
        if x.shape[-2:] == size:
            return x
        if pool:
            return F.adaptive_max_pool2d(x, size)
        return F.interpolate(x, size=size, mode='nearest')

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        if len(inputs) != self.num_levels:
            raise ValueError(f'SMSL was built for num_levels='
                             f'{self.num_levels} but got {len(inputs)} levels')
        for i, x in enumerate(inputs):
            if x.dim() != 4 or x.shape[1] != self.in_channels:
                raise ValueError(
                    f'level {i} must be (N, in_channels={self.in_channels}, '
                    f'H, W), got shape {tuple(x.shape)}')
        size = inputs[self.refine_level].shape[-2:]
        gathered: List[Tensor] = [
            self._resize(x, size, pool=i < self.refine_level)
            for i, x in enumerate(inputs)
        ]
        feats = torch.cat(gathered, dim=1)
        n = feats.shape[0]
        scale = self.channel_rescale(feats.mean(dim=(2, 3)))
        feats = feats * scale[..., None, None]
        feats = feats.view(n, self.num_levels, self.in_channels, *size)
        context = feats.sum(dim=1).mean(dim=(2, 3))
        global_feat = self.refine(
            self.global_combination(feats, context))
        outs = []
        for i, x in enumerate(inputs):
            local = self.local_combinations[i](feats, context)
            fused = self._resize(
                local + global_feat, x.shape[-2:], pool=i > self.refine_level)
            outs.append(fused + x)
        return tuple(outs)
