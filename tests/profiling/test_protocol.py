"""The timing protocol: its checks, the statistics of timed calls, thread
pinning and interleaved rounds."""
import pytest
import torch

from mmyoloms.profiling import (TimingProtocol, pinned_threads, summarize,
                                time_interleaved)


def test_summarize():
    stats = summarize([0.4, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
                      batch=2)
    assert stats['median_ms'] == pytest.approx(550)
    # nearest-rank quantiles: measured samples, not interpolations
    assert stats['p10_ms'] == pytest.approx(100)
    assert stats['p90_ms'] == pytest.approx(900)
    assert stats['iqr_ms'] == pytest.approx(800 - 300)
    assert stats['mean_ms'] == pytest.approx(550)
    assert stats['images_per_s'] == pytest.approx(2 / 0.55)
    assert stats['samples'] == 10
    one = summarize([0.25], batch=1)
    assert one['p10_ms'] == one['median_ms'] == one['p90_ms'] == 250
    assert one['iqr_ms'] == 0
    with pytest.raises(ValueError, match='no samples'):
        summarize([], batch=1)


def test_protocol_checks_and_json():
    protocol = TimingProtocol(shape=[320, 256], repeat=4, rounds=2)
    assert protocol.shape == (320, 256)
    assert protocol.samples == 8
    assert protocol.as_dict() == dict(shape=[320, 256], batch=1, warmup=3,
                                      repeat=4, rounds=2, threads=2)
    for kwargs, message in [(dict(shape=(640, )), 'shape must be two'),
                            (dict(shape=(0, 640)), 'shape must be two'),
                            (dict(batch=0), 'batch must be an int >= 1'),
                            (dict(warmup=-1), 'warmup must be an int >= 0'),
                            (dict(repeat=1.5), 'repeat must be an int'),
                            (dict(rounds=True), 'rounds must be an int'),
                            (dict(threads=0), 'threads must be an int')]:
        with pytest.raises(ValueError, match=message):
            TimingProtocol(**kwargs)


def test_pinned_threads_restores_the_callers_threads():
    before = torch.get_num_threads()
    with pinned_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with pinned_threads(1):
            raise RuntimeError
    assert torch.get_num_threads() == before


def test_time_interleaved_warms_up_then_alternates_rounds():
    calls = []
    fns = dict(a=lambda: calls.append('a'), b=lambda: calls.append('b'))
    samples = time_interleaved(
        fns, TimingProtocol(warmup=1, repeat=2, rounds=2))
    assert calls == ['a', 'b'] + ['a', 'a', 'b', 'b'] * 2
    assert {k: len(v) for k, v in samples.items()} == dict(a=4, b=4)
