"""The timing protocol every latency figure of the project is taken under.

A :class:`TimingProtocol` fixes what a figure depends on besides the model
and the backend: the input shape, the batch, the untimed warm-up calls,
the timed calls (``repeat`` per round, ``rounds`` interleaved rounds) and
the threads of every runtime. :func:`summarize` turns the samples into the
statistics reported everywhere: the median and its spread (p10, p90 and
the interquartile range).
"""
import contextlib
import dataclasses
import statistics
import time
from typing import Callable, Iterator, List, Sequence, Tuple

import numpy as np
import torch

from mmyoloms.utils import positive_int


def non_negative_int(value, name: str) -> int:
    """``value`` if it is an int >= 0 (a bool is not); the counterpart of
    :func:`mmyoloms.utils.positive_int`.

    Raises:
        ValueError: It is not, naming the argument ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f'{name} must be an int >= 0, got {value!r}')
    return value


@dataclasses.dataclass(frozen=True)
class TimingProtocol:
    """How a latency is measured.

    Args:
        shape (tuple[int, int]): Network input ``(H, W)``.
            Defaults to (640, 640).
        batch (int): Images per call. Defaults to 1.
        warmup (int): Untimed calls of each entry first (allocator,
            oneDNN kernel caches). Defaults to 3.
        repeat (int): Timed calls per entry and round. Defaults to 10.
        rounds (int): Rounds; entries timed together are interleaved
            round by round, so that a slow moment of a shared machine hits
            all of them alike. Defaults to 3.
        threads (int): Threads of PyTorch (intra-op), onnxruntime and
            OpenVINO. Defaults to 2.
    """

    shape: Tuple[int, int] = (640, 640)
    batch: int = 1
    warmup: int = 3
    repeat: int = 10
    rounds: int = 3
    threads: int = 2

    def __post_init__(self) -> None:
        shape = tuple(self.shape)
        if len(shape) != 2 or any(
                not isinstance(s, int) or isinstance(s, bool) or s < 1
                for s in shape):
            raise ValueError(
                f'shape must be two ints (H, W) >= 1, got {self.shape}')
        object.__setattr__(self, 'shape', shape)
        positive_int(self.batch, 'batch')
        non_negative_int(self.warmup, 'warmup')
        positive_int(self.repeat, 'repeat')
        positive_int(self.rounds, 'rounds')
        positive_int(self.threads, 'threads')

    @property
    def samples(self) -> int:
        """Timed calls per entry in all."""
        return self.repeat * self.rounds

    def as_dict(self) -> dict:
        """The protocol as JSON-ready values."""
        return dict(dataclasses.asdict(self), shape=list(self.shape))


@contextlib.contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` PyTorch intra-op threads and restore
    the previous number after it (onnxruntime and OpenVINO get theirs
    explicitly, when their sessions are made)."""
    positive_int(threads, 'threads')
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def time_callable(fn: Callable[[], object], repeat: int) -> List[float]:
    """Wall-clock seconds of each of ``repeat`` calls of ``fn``."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def _percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-quantile of sorted samples (a sample that
    was measured, not an interpolation)."""
    rank = int(np.ceil(q * len(ordered)))
    return ordered[min(len(ordered) - 1, max(rank - 1, 0))]


def summarize(samples: Sequence[float], batch: int) -> dict:
    """Statistics of timed calls (seconds) in milliseconds.

    Args:
        samples (Sequence[float]): Seconds per call.
        batch (int): Images per call.

    Returns:
        dict: ``median_ms``, ``p10_ms``, ``p90_ms`` (nearest-rank),
        ``iqr_ms`` (p75 - p25, nearest-rank), ``mean_ms``,
        ``images_per_s`` (at the median) and ``samples``.
    """
    if not samples:
        raise ValueError('no samples to summarize')
    positive_int(batch, 'batch')
    ordered = sorted(samples)
    median = statistics.median(ordered)
    return dict(
        median_ms=median * 1e3,
        p10_ms=_percentile(ordered, 0.1) * 1e3,
        p90_ms=_percentile(ordered, 0.9) * 1e3,
        iqr_ms=(_percentile(ordered, 0.75) - _percentile(ordered, 0.25)) *
        1e3,
        mean_ms=statistics.fmean(ordered) * 1e3,
        images_per_s=batch / median,
        samples=len(ordered))
