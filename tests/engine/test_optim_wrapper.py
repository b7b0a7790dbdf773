"""CPUAutocastOptimWrapper: a bfloat16-autocast run trains on CPU."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmyolo.registry import OPTIM_WRAPPERS
from mmyoloms.engine import CPUAutocastOptimWrapper
from ..shapes_utils import make_tiny_shapes, tiny_shapes_config


def _tiny_cfg(tmp_path):
    data = make_tiny_shapes(str(tmp_path / 'data'), num_train=4, num_val=2)
    cfg = Config.fromfile(tiny_shapes_config(
        data, str(tmp_path / 'cfg.py'), max_epochs=1, batch_size=2))
    cfg.optim_wrapper.type = 'CPUAutocastOptimWrapper'
    cfg.optim_wrapper.native_only = False
    return cfg


def test_bf16_run_trains(tmp_path):
    cfg = _tiny_cfg(tmp_path)
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    model = runner.model
    before = copy.deepcopy(model.state_dict())
    seen = []
    conv = model.backbone.stem[0].conv
    conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    runner.train()
    assert isinstance(runner.optim_wrapper, CPUAutocastOptimWrapper)
    # the 2 training iterations ran in bfloat16, the validation after the
    # last epoch in float32 (autocast covers train_step only); parameters
    # and their updates stay float32
    assert seen == [torch.bfloat16, torch.bfloat16, torch.float32]
    changed = [k for k, v in model.state_dict().items()
               if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    assert len(changed) > 100
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(torch.isfinite(p).all() for p in model.parameters())
    logs = runner.message_hub.log_scalars
    assert torch.isfinite(torch.tensor(logs['train/loss'].current()))


def test_only_bfloat16():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="dtype must be 'bfloat16'"):
        OPTIM_WRAPPERS.build(
            dict(type='CPUAutocastOptimWrapper', dtype='float16',
                 optimizer=torch.optim.AdamW(model.parameters())))


def test_native_only_trains_in_float32_without_native_bf16(monkeypatch):
    from mmyoloms.engine import optim_wrapper
    model = torch.nn.Conv2d(3, 4, 3)
    monkeypatch.setattr(optim_wrapper, 'cpu_has_native_bf16', lambda: False)
    wrapper = OPTIM_WRAPPERS.build(
        dict(type='CPUAutocastOptimWrapper',
             optimizer=torch.optim.AdamW(model.parameters())))
    assert not wrapper.enabled
    with wrapper.optim_context(model):
        assert model(torch.rand(1, 3, 8, 8)).dtype == torch.float32
    monkeypatch.setattr(optim_wrapper, 'cpu_has_native_bf16', lambda: True)
    wrapper = OPTIM_WRAPPERS.build(
        dict(type='CPUAutocastOptimWrapper',
             optimizer=torch.optim.AdamW(model.parameters())))
    with wrapper.optim_context(model):
        assert model(torch.rand(1, 3, 8, 8)).dtype == torch.bfloat16
