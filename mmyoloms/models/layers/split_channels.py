"""Argument checks and channel arithmetic shared by the split blocks
(:class:`MSBlock`, :class:`Res2Block`): a 1x1 conv expands the input, the
result is split into one group per entry of ``kernel_sizes``."""
from typing import List, Sequence, Tuple, Union

KernelSize = Union[int, Tuple[int, int]]


def check_kernel_sizes(kernel_sizes: Sequence[KernelSize]) -> List[int]:
    """Return ``kernel_sizes`` as a list of ints, checking it is a non-empty
    sequence of positive odd kernel sizes (``1`` means an identity split).

    An entry may be an int ``k`` or a square pair ``(k, k)``, the form the
    official YOLO-MS configs write (``kernel_sizes=[1, (3, 3), (3, 3)]``);
    a pair is returned as its int.
    """
    if isinstance(kernel_sizes, (str, bytes)) or not isinstance(
            kernel_sizes, Sequence) or len(kernel_sizes) == 0:
        raise ValueError(
            'kernel_sizes must be a non-empty sequence of positive odd ints '
            f'(1 means an identity split), got {kernel_sizes!r}')
    return [_kernel_size(k, kernel_sizes) for k in kernel_sizes]


def _kernel_size(kernel_size: KernelSize, kernel_sizes) -> int:
    if isinstance(kernel_size, (tuple, list)):
        if len(kernel_size) != 2 or kernel_size[0] != kernel_size[1]:
            raise ValueError(
                'kernel_sizes entries must be ints or square pairs (k, k); '
                f'got {kernel_size!r} in {list(kernel_sizes)}')
        kernel_size = kernel_size[0]
    if isinstance(kernel_size, bool) or not isinstance(
            kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(
            'kernel_sizes must be a non-empty sequence of positive odd ints '
            f'(1 means an identity split), got {list(kernel_sizes)}')
    return kernel_size


def split_channels(in_channels: int, kernel_sizes: Sequence[KernelSize],
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
