import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mmyoloms import compat


class Payload:
    """Stands for an arbitrary pickled object (its unpickling runs code)."""

    def __reduce__(self):
        return (os.getcwd, ())


def _mmengine_like_checkpoint(path):
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(2.5)
    ckpt = dict(
        meta=dict(epoch=1, iter=2, seed=0),
        state_dict={'conv.weight': torch.rand(2, 2)},
        message_hub=dict(log_scalars={'train/loss': buf},
                         runtime_info=dict(eta=np.float64(3.0)),
                         resumed_keys={}),
        arr=np.arange(3))
    torch.save(ckpt, path)
    return ckpt


def test_loader_is_installed_for_local_paths():
    assert CheckpointLoader._get_checkpoint_loader('/x/y.pth') is \
        compat.load_checkpoint_file


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    path = str(tmp_path / 'ok.pth')
    _mmengine_like_checkpoint(path)
    # torch's weights_only load refuses it (the default since torch 2.6) ...
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(path, weights_only=True)
    # ... the mmengine entry point goes through our allowlist
    ckpt = _load_checkpoint(path, map_location='cpu')
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == 2.0 and buf.current() == 2.5
    assert ckpt['arr'].tolist() == [0, 1, 2]
    assert ckpt['message_hub']['runtime_info']['eta'] == 3.0


def test_arbitrary_object_is_refused_with_clear_error(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'payload': Payload()}, path)
    with pytest.raises(compat.UntrustedCheckpointError) as info:
        _load_checkpoint(path, map_location='cpu')
    msg = str(info.value)
    assert 'posix.getcwd' in msg or 'os.getcwd' in msg
    assert path in msg and compat.TRUSTED_ENV in msg


def test_explicit_trust_opt_in(tmp_path, monkeypatch):
    path = str(tmp_path / 'trusted.pth')
    torch.save({'state_dict': {}, 'payload': Payload()}, path)
    monkeypatch.setenv(compat.TRUSTED_ENV, path)
    ckpt = _load_checkpoint(path, map_location='cpu')
    assert ckpt['payload'] == os.getcwd()  # the pickled call ran


def test_getattr_is_restricted():
    assert compat._checkpoint_getattr(HistoryBuffer, 'mean') is \
        HistoryBuffer.mean
    with pytest.raises(compat.UntrustedCheckpointError, match='getattr'):
        compat._checkpoint_getattr(HistoryBuffer, '__init__')
    with pytest.raises(compat.UntrustedCheckpointError, match='getattr'):
        compat._checkpoint_getattr(os, 'system')


def test_missing_file():
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint('/nonexistent/nope.pth')


@pytest.mark.parametrize('version,needed', [('0.10.7', True),
                                            ('0.10.6', True),
                                            ('0.7.1', True),
                                            ('0.10.8', False),
                                            ('1.0.0', False)])
def test_fixes_apply_only_to_mmengine_versions_that_need_them(
        version, needed):
    assert compat.needs_fixes(version) is needed


def test_newer_mmengine_is_left_alone(monkeypatch):
    """From mmengine's own state, a newer mmengine gets no patch."""
    import mmengine.dist.utils as dist_utils
    from mmengine.runner.checkpoint import load_from_local

    def mmengine_init_dist(*args, **kwargs):
        pass

    monkeypatch.setattr(compat, '_applied', False)
    monkeypatch.setitem(CheckpointLoader._schemes, '', load_from_local)
    monkeypatch.setattr(dist_utils, '_init_dist_pytorch', mmengine_init_dist)
    assert compat.apply('0.11.0') == []
    assert CheckpointLoader._get_checkpoint_loader('/x/y.pth') is \
        load_from_local
    assert dist_utils._init_dist_pytorch is mmengine_init_dist
    assert compat._applied is False
    # the version this package is tested with gets both, and on a torch
    # without the CPU fused AdamW (< 2.4) the AdamW that falls back
    expected = ['dist_pytorch_on_cpu', 'safe_checkpoint_loader']
    if not compat.has_torch_feature('cpu_fused_adamw'):
        expected.insert(0, 'adamw_fused_only_where_supported')
    assert sorted(compat.apply('0.10.7')) == expected
    assert CheckpointLoader._get_checkpoint_loader('/x/y.pth') is \
        compat.load_checkpoint_file
    assert dist_utils._init_dist_pytorch is compat._init_dist_pytorch_on_cpu
    assert compat.apply('0.10.7') == []  # idempotent
