"""PSConv2d: poly-scale convolution (Li, Yao and Chen, ECCV 2020; paper 002).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.nn.modules.utils import _pair

from mmyolo.registry import MODELS

_IntPair = Union[int, Tuple[int, int]]


@MODELS.register_module()
class PSConv2d(nn.Conv2d):
    """Poly-scale convolution: every kernel of the lattice has its own
    dilation rate, cycling along the input and output channel axes.

    Eq. (3) of the paper, with ``W`` the weight of shape
    ``(C_out, C_in / groups, kh, kw)``::

        H[c, x, y] = sum_{k, i, j} W[c, k, i, j]
                                   * F[k, x + i D[c, k], y + j D[c, k]]
        D[c, k] = dilations[(c + k) % t] * dilation,   t = len(dilations)

    ``c`` is the output channel and ``k`` the input channel inside ``c``'s
    group, so one rule covers dense, grouped (the cyclic pattern shifted by
    one per filter inside every group) and depthwise convs (``k`` is always
    0 and the pattern runs across the groups, appendix A). Equivalently::

        PSConv2d(x) = sum_r conv2d(x, W * [D == r], dilation=r,
                                   padding=p_r) + bias

    where ``p_r = padding + (r - dilation) * (kernel - 1) / 2`` per axis,
    which keeps every dilated kernel centred where the vanilla kernel is:
    for a 'same'-padded layer (``padding = dilation * (kernel - 1) / 2``)
    this is ``r * (kernel - 1) / 2``, and in every case the output has the
    shape of the vanilla conv's.

    The layer holds exactly the parameters of :class:`torch.nn.Conv2d`
    (``weight`` and optional ``bias``), so a vanilla conv's state dict loads
    into it and parameter counts do not change. The forward does not build
    one masked copy of ``W`` per rate: as in appendix B, the kernels of one
    rate are regrouped (output channels by ``c mod t``, input channels by
    the residue that gives that rate) into a grouped conv, whose weight is
    gathered from ``W``. Per rate, every output channel sees only the
    inputs of that rate, so the multiply-adds of all rates together equal
    those of the vanilla conv. A 1x1 kernel ignores dilation: a 1x1
    PSConv2d is a plain conv.

    Registered in ``mmyolo.registry.MODELS``, so mmcv's
    ``build_conv_layer`` takes ``conv_cfg=dict(type='PSConv2d')`` under the
    mmyolo scope and ``dict(type='mmyolo.PSConv2d')`` under mmdet's; with
    mmdet's ``ResNet(dcn=dict(type='mmyolo.PSConv2d'), stage_with_dcn=...)``
    the bottleneck 3x3 convs become PSConv2d (PS-ResNet).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int or tuple[int, int]): Kernel size; odd along each
            axis, so that a dilated kernel can stay centred.
        stride (int or tuple[int, int]): Stride. Defaults to 1.
        padding (int, tuple[int, int] or str): Padding of the vanilla conv
            (``'same'`` and ``'valid'`` as in :class:`torch.nn.Conv2d`).
            Defaults to 0.
        dilation (int or tuple[int, int]): Base dilation, multiplied by the
            cyclic rates; equal along both axes. Defaults to 1.
        groups (int): Groups; must divide both channel counts.
            Defaults to 1.
        bias (bool): Whether to learn a bias. Defaults to True.
        padding_mode (str): ``'zeros'``, ``'reflect'``, ``'replicate'`` or
            ``'circular'``. Defaults to ``'zeros'``.
        dilations (Sequence[int]): The cyclic rate pattern
            ``{d_1, ..., d_t}``; positive ints. Defaults to ``(1, 2, 1, 4)``,
            the paper's choice.
        device (torch.device, optional): As for nn.Conv2d. Defaults to None.
        dtype (torch.dtype, optional): As for nn.Conv2d. Defaults to None.

    Example:
        >>> import torch
        >>> conv = PSConv2d(16, 32, 3, padding=1)
        >>> conv.dilation_matrix()[:2, :6]
        tensor([[1, 2, 1, 4, 1, 2],
                [2, 1, 4, 1, 2, 1]])
        >>> conv(torch.rand(1, 16, 20, 20)).shape
        torch.Size([1, 32, 20, 20])
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: _IntPair,
                 stride: _IntPair = 1,
                 padding: Union[str, _IntPair] = 0,
                 dilation: _IntPair = 1,
                 groups: int = 1,
                 bias: bool = True,
                 padding_mode: str = 'zeros',
                 dilations: Sequence[int] = (1, 2, 1, 4),
                 device: Optional[torch.device] = None,
                 dtype: Optional[torch.dtype] = None) -> None:
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f'groups must be an int >= 1, got {groups!r}')
        if in_channels % groups != 0 or out_channels % groups != 0:
            raise ValueError(
                f'groups={groups} must divide in_channels={in_channels} '
                f'and out_channels={out_channels}')
        dilations = tuple(dilations)
        if len(dilations) == 0 or any(
                isinstance(d, bool) or not isinstance(d, int) or d < 1
                for d in dilations):
            raise ValueError('dilations must be a non-empty sequence of '
                             f'positive ints, got {dilations}')
        kh, kw = _pair(kernel_size)
        if kh % 2 == 0 or kw % 2 == 0:
            raise ValueError(
                'PSConv2d needs an odd kernel_size along both axes (a dilated '
                f'kernel must stay centred), got {kernel_size}')
        dh, dw = _pair(dilation)
        if dh != dw:
            raise ValueError('PSConv2d needs the same dilation along both '
                             f'axes, got dilation={dilation}')
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype)
        self.dilations = dilations
        if padding == 'valid':
            base_padding = (0, 0)
        elif padding == 'same':
            base_padding = (dh * (kh - 1) // 2, dw * (kw - 1) // 2)
        else:
            base_padding = _pair(padding)
        self._base_padding = base_padding
        self._steps = self._build_steps()

    def dilation_matrix(self) -> Tensor:
        """The dilation of every kernel, ``D[c, k]``.

        Returns:
            Tensor: Long tensor of shape ``(out_channels, in_channels //
            groups)``, ``D[c, k] = dilations[(c + k) % t] * dilation``.
        """
        c = torch.arange(self.out_channels)[:, None]
        k = torch.arange(self.in_channels // self.groups)[None, :]
        pattern = torch.tensor(self.dilations, dtype=torch.long)
        return pattern[(c + k) % len(self.dilations)] * self.dilation[0]

    def _rate_padding(self, rate: int) -> Tuple[int, int]:
        """Padding that centres a kernel of dilation ``rate`` where the
        vanilla kernel (dilation ``self.dilation``) is."""
        kh, kw = self.kernel_size
        d0 = self.dilation[0]
        return (self._base_padding[0] + (rate - d0) * (kh - 1) // 2,
                self._base_padding[1] + (rate - d0) * (kw - 1) // 2)

    def _build_steps(self) -> Optional[List[dict]]:
        """Plan one grouped conv per distinct rate (appendix B).

        For rate ``r`` the kernels with ``D[c, k] == r`` are those where
        ``(c + k) mod t`` is a shift whose pattern entry is ``r``, so all
        output channels of conv group ``g`` with the same residue
        ``c mod t`` read the same inputs; output channels reading the same
        inputs form one group of a grouped conv whose weight is gathered
        from ``W``. Where the groups of a rate differ in size they are
        padded to the largest with zero kernels (a few channels at most,
        when a channel count is not a multiple of ``t``), so the work stays
        that of the vanilla conv up to that rounding.

        The input channels are gathered once for all rates when every
        rate's groups are contiguous runs of one common channel order (as for
        dense and grouped convs with channel counts divisible by ``t``),
        else once per rate. The outputs are put back in channel order by an
        index select of the sum of the rates' outputs, accumulated in the
        first rate's channel order (a concatenation for depthwise convs, where every output
        comes from exactly one rate).

        Index tensors are non-persistent buffers: they follow
        ``.to(device)`` and stay out of the state dict.
        """
        kh, kw = self.kernel_size
        if (kh, kw) == (1, 1):
            return None
        d0 = self.dilation[0]
        rates = sorted(set(self.dilations))
        if len(rates) == 1:
            return [dict(rate=rates[0] * d0, groups=self.groups)]
        t = len(self.dilations)
        in_per_group = self.in_channels // self.groups
        out_per_group = self.out_channels // self.groups

        plans = []
        for rate in rates:
            shifts = {s for s, d in enumerate(self.dilations) if d == rate}
            groups = []  # (output channels, global input channels)
            for g in range(self.groups):
                first = g * out_per_group
                by_inputs = {}
                for a in range(t):
                    ks = tuple(
                        sorted((k for k in range(in_per_group)
                                if (a + k) % t in shifts),
                               key=lambda k: (k % t, k)))
                    outs = list(
                        range(first + (a - first) % t, first + out_per_group,
                              t))
                    if ks and outs:
                        by_inputs.setdefault(ks, []).extend(outs)
                for ks, outs in by_inputs.items():
                    # class-major order: whole classes move as blocks
                    outs = sorted(outs, key=lambda c: (c % t, c))
                    groups.append((outs, [g * in_per_group + k for k in ks]))
            plans.append((rate, groups))

        shared = self._shared_input_order([groups for _, groups in plans])
        if shared is not None:
            self.register_buffer(
                '_ps_in_index', torch.tensor(shared), persistent=False)

        steps, out_indices = [], []
        for i, (rate, groups) in enumerate(plans):
            if shared is not None:
                position = {ch: p for p, ch in enumerate(shared)}
                groups = sorted(groups, key=lambda grp: position[grp[1][0]])
            n_out = max(len(outs) for outs, _ in groups)
            n_in = max(len(ins) for _, ins in groups)
            weight_index, in_index, out_index, valid = [], [], [], []
            for outs, ins in groups:
                rows = torch.tensor(outs + [outs[0]] * (n_out - len(outs)))
                cols = torch.tensor(ins + [ins[0]] * (n_in - len(ins)))
                weight_index.append(rows[:, None] * in_per_group +
                                    cols[None, :] % in_per_group)
                valid.append((torch.arange(n_out) < len(outs))[:, None]
                             & (torch.arange(n_in) < len(ins))[None, :])
                in_index.append(cols)
                out_index.append(
                    torch.tensor(outs + [self.out_channels] *
                                 (n_out - len(outs))))
            name = f'_ps_rate{i}'
            self.register_buffer(
                f'{name}_weight_index',
                torch.cat(weight_index).flatten(),
                persistent=False)
            if shared is None:
                self.register_buffer(
                    f'{name}_in_index', torch.cat(in_index), persistent=False)
            valid = torch.cat(valid)
            padded = not bool(valid.all())
            if padded:
                self.register_buffer(
                    f'{name}_mask',
                    valid[:, :, None, None].to(self.weight.dtype),
                    persistent=False)
            out_index = torch.cat(out_index)
            self.register_buffer(
                f'{name}_out_index', out_index, persistent=False)
            out_indices.append(out_index)
            steps.append(
                dict(
                    rate=rate * d0,
                    groups=len(groups),
                    name=name,
                    n_in=n_in,
                    padded=padded))

        full = torch.arange(self.out_channels)
        is_perm = [torch.equal(o.sort().values, full) for o in out_indices]
        if all(is_perm):
            # accumulate in the first rate's channel order, then one index
            # select back to channel order; where another rate's order is a
            # few contiguous runs of it (class blocks), add slices, else
            # index_add
            self._assemble = 'accumulate'
            self.register_buffer(
                '_ps_first_inverse', out_indices[0].argsort(),
                persistent=False)
            position = out_indices[0].argsort()
            for i, out_index in enumerate(out_indices[1:], 1):
                runs = self._runs(position[out_index].tolist())
                steps[i]['runs'] = runs if len(runs) <= 4 * t else None
        elif torch.equal(torch.cat(out_indices).sort().values, full):
            self._assemble = 'concat'
            self.register_buffer(
                '_ps_concat_inverse',
                torch.cat(out_indices).argsort(),
                persistent=False)
        else:
            self._assemble = 'scatter'
        return steps

    @staticmethod
    def _runs(targets: List[int]) -> List[Tuple[int, int, int]]:
        """``(source, target, length)`` runs where consecutive entries of
        ``targets`` are consecutive positions."""
        runs = []
        for src, dst in enumerate(targets):
            if runs and runs[-1][1] + runs[-1][2] == dst:
                runs[-1][2] += 1
            else:
                runs.append([src, dst, 1])
        return [tuple(r) for r in runs]

    @staticmethod
    def _shared_input_order(plans: List[list]) -> Optional[List[int]]:
        """One input channel order in which the inputs of every group of
        every rate are a contiguous run, each channel read once per rate;
        None if there is none of the form tried here (the group inputs of
        the rate with the fewest groups, concatenated)."""
        reference = min(plans, key=len)
        order = [ch for _, ins in reference for ch in ins]
        if sorted(order) != sorted(set(order)):
            return None
        position = {ch: p for p, ch in enumerate(order)}
        for groups in plans:
            if len({len(ins) for _, ins in groups}) != 1:
                return None  # padded groups read extra channels
            runs = []
            for _, ins in groups:
                if any(ch not in position for ch in ins):
                    return None
                pos = [position[ch] for ch in ins]
                if pos != list(range(pos[0], pos[0] + len(pos))):
                    return None
                runs.append(pos)
            if sorted(p for run in runs for p in run) != list(
                    range(len(order))):
                return None
        return order

    def _rate_conv(self,
                   x: Tensor,
                   weight: Tensor,
                   rate: int,
                   groups: int,
                   bias: Optional[Tensor] = None) -> Tensor:
        padding = self._rate_padding(rate)
        if self.padding_mode != 'zeros':
            x = F.pad(
                x, (padding[1], padding[1], padding[0], padding[0]),
                mode=self.padding_mode)
            padding = (0, 0)
        return F.conv2d(x, weight, bias, self.stride, padding, rate, groups)

    def _conv_forward(self, input: Tensor, weight: Tensor,
                      bias: Optional[Tensor]) -> Tensor:
        if self._steps is None:
            return super()._conv_forward(input, weight, bias)
        if 'name' not in self._steps[0]:
            step = self._steps[0]
            return self._rate_conv(input, weight, step['rate'],
                                   step['groups'], bias)
        kh, kw = self.kernel_size
        flat = weight.reshape(-1, kh, kw)
        shared = getattr(self, '_ps_in_index', None)
        if shared is not None:
            shared = input.index_select(1, shared)
        accumulate = self._assemble == 'accumulate'
        acc, outs = None, []
        for i, step in enumerate(self._steps):
            name = step['name']
            w = flat.index_select(0, getattr(self, f'{name}_weight_index'))
            w = w.view(-1, step['n_in'], kh, kw)
            if step['padded']:
                w = w * getattr(self, f'{name}_mask')
            x = shared if shared is not None else input.index_select(
                1, getattr(self, f'{name}_in_index'))
            step_bias = None
            if bias is not None and i == 0 and accumulate:
                # the first rate's output becomes the result: its conv
                # adds the bias, in that rate's channel order
                step_bias = bias.index_select(0, self._ps_rate0_out_index)
            y = self._rate_conv(x, w, step['rate'], step['groups'],
                                step_bias)
            if not accumulate:
                outs.append(y)
            elif acc is None:
                # a conv output is not saved for backward: accumulate in
                # place, in the first rate's channel order, adding each
                # rate's output as soon as it exists
                acc = y
            elif step['runs'] is None:
                acc.index_add_(
                    1,
                    self._ps_first_inverse.index_select(
                        0, getattr(self, f'_ps_rate{i}_out_index')), y)
            else:
                for src, dst, length in step['runs']:
                    acc[:, dst:dst + length].add_(y[:, src:src + length])
            del x, y
        if accumulate:
            return acc.index_select(1, self._ps_first_inverse)
        if self._assemble == 'concat':
            out = torch.cat(outs, dim=1).index_select(
                1, self._ps_concat_inverse)
        else:
            n, _, h, w = outs[0].shape
            out = outs[0].new_zeros(n, self.out_channels + 1, h, w)
            for i, y in enumerate(outs):
                out.index_add_(1, getattr(self, f'_ps_rate{i}_out_index'), y)
            out = out[:, :self.out_channels]
        if bias is not None:
            out = out + bias.view(1, -1, 1, 1)
        return out

    def extra_repr(self) -> str:
        return super().extra_repr() + f', dilations={self.dilations}'
