"""The torch version checks of mmyoloms.compat and the paths that replace
newer torch features on an older torch."""
import argparse
import os

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.registry import OPTIMIZERS

from mmyoloms import compat


@pytest.mark.parametrize('have,need,expected', [
    ('2.0.1', '2.0.1', True),
    ('2.0.1+cu117', '2.4', False),
    ('2.13.0+cpu', '2.4', True),
    ('2.6.0a0+git1234', '2.6', True),
    ('2.5.1', '2.6', False),
    ('2.10.0', '2.9', True),
    ('3.0', '2.15.0', True),
])
def test_torch_version_at_least(have, need, expected):
    assert compat.torch_version_at_least(need, have) is expected


def test_bad_version_and_feature_names():
    with pytest.raises(ValueError, match='version must start with a number'):
        compat.torch_version_at_least('2.4', 'nightly')
    with pytest.raises(ValueError, match="name must be one of"):
        compat.has_torch_feature('cuda_graphs')


def test_features_of_the_matrix_rows():
    """The oldest row lacks every listed feature, the default and newest
    rows have them all."""
    for name in compat.TORCH_FEATURES:
        assert not compat.has_torch_feature(name, compat.OLDEST_TORCH)
        assert compat.has_torch_feature(name, '2.13.0')
        assert compat.has_torch_feature(name, '2.15.0')


def test_require_names_the_version_needed(monkeypatch):
    monkeypatch.setattr(torch, '__version__', '2.0.1')
    with pytest.raises(compat.TorchFeatureError,
                       match=r'dynamic export needs torch >= 2\.6 .*'
                       r'this is torch 2\.0\.1'):
        compat.require_torch_feature('dynamo_onnx_export', 'dynamic export')
    monkeypatch.setattr(torch, '__version__', '2.6.0')
    compat.require_torch_feature('dynamo_onnx_export', 'dynamic export')


def test_fallback_is_logged_once(monkeypatch):
    import mmengine.logging
    lines = []
    monkeypatch.setattr(mmengine.logging, 'print_log',
                        lambda msg, **kwargs: lines.append(msg))
    monkeypatch.setattr(compat, '_fallbacks_logged', set())
    assert compat.log_fallback('custom_op', 'plain path') is True
    assert compat.log_fallback('custom_op', 'plain path') is False
    assert len(lines) == 1
    assert 'plain path' in lines[0] and 'needs torch >= 2.4' in lines[0]


def _allowlist_load(path):
    """What load_checkpoint_file does on a torch without safe_globals."""
    return torch.load(path, pickle_module=compat._AllowlistPickleModule,
                      weights_only=False)


def test_allowlist_unpickler_loads_mmengine_checkpoints(tmp_path):
    """The unpickler of torch < 2.5 admits what the safe_globals path
    admits (run here on every torch)."""
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(2.5)
    path = str(tmp_path / 'ok.pth')
    torch.save(dict(state_dict={'w': torch.rand(2, 3)},
                    message_hub=dict(log_scalars={'loss': buf}),
                    meta=dict(eta=np.float64(3.0), arr=np.arange(3),
                              size=torch.Size([2, 3]))), path)
    ckpt = _allowlist_load(path)
    assert ckpt['state_dict']['w'].shape == (2, 3)
    assert ckpt['message_hub']['log_scalars']['loss'].mean() == 2.0
    assert ckpt['meta']['eta'] == 3.0
    assert ckpt['meta']['arr'].tolist() == [0, 1, 2]
    assert ckpt['meta']['size'] == torch.Size([2, 3])


@pytest.mark.parametrize('payload,name', [
    (argparse.Namespace(lr=0.1), 'argparse.Namespace'),
    (os.getcwd, 'posix.getcwd'),
])
def test_allowlist_unpickler_refuses_other_globals(tmp_path, payload, name):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'payload': payload}, path)
    with pytest.raises(compat.UntrustedCheckpointError, match=name):
        _allowlist_load(path)


def test_loader_without_safe_globals_refuses_with_the_same_message(
        tmp_path, monkeypatch):
    real = compat.has_torch_feature
    monkeypatch.setattr(
        compat, 'has_torch_feature',
        lambda name, version=None: name != 'safe_globals' and real(name))
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'args': argparse.Namespace()}, path)
    with pytest.raises(compat.UntrustedCheckpointError) as info:
        compat.load_checkpoint_file(path)
    assert 'argparse.Namespace' in str(info.value)
    assert path in str(info.value) and compat.TRUSTED_ENV in str(info.value)
    ok = str(tmp_path / 'ok.pth')
    torch.save({'state_dict': {'w': torch.ones(1)}}, ok)
    assert compat.load_checkpoint_file(ok)['state_dict']['w'].item() == 1.0


def _adamw_step(optimizer, param):
    param.grad = torch.ones_like(param)
    optimizer.step()


def test_fused_adamw_falls_back_on_cpu_before_torch_2_4(monkeypatch):
    monkeypatch.setattr(torch, '__version__', '2.0.1')
    monkeypatch.setattr(compat, '_fallbacks_logged', set())
    param = torch.nn.Parameter(torch.zeros(3))
    optimizer = compat.AdamWFusedOnlyWhereSupported([param], lr=0.1,
                                                    fused=True)
    assert not optimizer.defaults['fused']
    assert 'cpu_fused_adamw' in compat._fallbacks_logged
    _adamw_step(optimizer, param)
    # the plain AdamW's first step: -lr * sign(grad)
    torch.testing.assert_close(param.detach(), torch.full((3, ), -0.1))


def test_adamw_of_the_registry_trains_with_fused_on_every_torch():
    """Configs ask for optimizer=dict(type='AdamW', fused=True): on
    torch < 2.4 the registry's AdamW is the falling-back one."""
    replaced = OPTIMIZERS.get('AdamW') is compat.AdamWFusedOnlyWhereSupported
    assert replaced is not compat.has_torch_feature('cpu_fused_adamw')
    param = torch.nn.Parameter(torch.zeros(3))
    optimizer = OPTIMIZERS.build(
        dict(type='AdamW', params=[param], lr=0.1, fused=True))
    _adamw_step(optimizer, param)
    torch.testing.assert_close(param.detach(), torch.full((3, ), -0.1))
