"""Argument checks and channel arithmetic shared by the split blocks
(:class:`MSBlock`, :class:`Res2Block`): a 1x1 conv expands the input, the
result is split into one group per entry of ``kernel_sizes``."""
from typing import Sequence, Tuple


def check_kernel_sizes(kernel_sizes: Sequence[int]) -> list:
    """Return ``kernel_sizes`` as a list, checking it is a non-empty
    sequence of positive odd ints (``1`` means an identity split)."""
    kernel_sizes = list(kernel_sizes)
    if len(kernel_sizes) == 0 or any(
            isinstance(k, bool) or not isinstance(k, int) or k < 1
            or k % 2 == 0 for k in kernel_sizes):
        raise ValueError(
            'kernel_sizes must be a non-empty sequence of positive odd ints '
            f'(1 means an identity split), got {kernel_sizes}')
    return kernel_sizes


def split_channels(in_channels: int, kernel_sizes: Sequence[int],
                   in_expand_ratio: float, in_down_ratio: int,
                   layers_num: int) -> Tuple[int, int]:
    """Check a split block's arguments and return its widths.

    Returns ``(mid, branch)`` with ``mid = int(in_channels *
    in_expand_ratio) // in_down_ratio`` and ``branch = mid //
    len(kernel_sizes)``; both divisions must be exact, so that no channel
    is dropped.
    """
    if isinstance(layers_num, bool) or not isinstance(
            layers_num, int) or layers_num < 1:
        raise ValueError(f'layers_num must be an int >= 1, got {layers_num}')
    if in_expand_ratio <= 0:
        raise ValueError(
            f'in_expand_ratio must be > 0, got {in_expand_ratio}')
    if isinstance(in_down_ratio, bool) or not isinstance(
            in_down_ratio, int) or in_down_ratio < 1:
        raise ValueError(
            f'in_down_ratio must be an int >= 1, got {in_down_ratio}')
    expanded = int(in_channels * in_expand_ratio)
    if expanded % in_down_ratio != 0:
        raise ValueError(
            f'in_down_ratio={in_down_ratio} does not divide the expanded '
            f'width int(in_channels * in_expand_ratio) = {expanded}')
    mid = expanded // in_down_ratio
    if mid % len(kernel_sizes) != 0:
        raise ValueError(
            f'the expanded width {mid} (in_channels={in_channels}, '
            f'in_expand_ratio={in_expand_ratio}, in_down_ratio='
            f'{in_down_ratio}) is not divisible by the number of splits '
            f'len(kernel_sizes)={len(kernel_sizes)}')
    return mid, mid // len(kernel_sizes)
