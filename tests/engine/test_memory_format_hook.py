"""MemoryFormatHook: channels-last parameters, the same loss and gradients
as contiguous ones, EMA copy and checkpoints unaffected."""
import copy

import pytest
import torch
from mmengine.config import Config

from mmyolo.registry import HOOKS, MODELS
from mmyoloms.engine.hooks import MemoryFormatHook
from ..shapes_utils import SHAPES_CONFIG


class _Runner:
    def __init__(self, model):
        self.model = model


def _model():
    torch.manual_seed(0)
    cfg = Config.fromfile(SHAPES_CONFIG)
    return MODELS.build(cfg.model)


def _batch(seed=0, batch=2, size=128):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 256, (batch, 3, size, size), generator=g,
                           dtype=torch.uint8)
    # (image index, label, x1, y1, x2, y2)
    boxes = torch.tensor([[0, 1, 10., 20., 60., 70.], [0, 3, 70., 5., 120., 40.],
                          [1, 0, 30., 30., 100., 110.]])
    return dict(inputs=inputs, data_samples=dict(
        bboxes_labels=boxes, img_metas=[dict(batch_input_shape=(size, size))
                                        for _ in range(batch)]))


def _loss_and_grads(model, dtype=torch.float32):
    data = model.data_preprocessor(copy.deepcopy(_batch()), True)
    data['inputs'] = data['inputs'].to(dtype)
    samples = data['data_samples']
    samples['bboxes_labels'] = samples['bboxes_labels'].to(dtype)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    model.zero_grad()
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in
                           model.named_parameters() if p.grad is not None}


def _relative_error(grads, reference):
    """||g - g_ref|| / ||g_ref|| over all parameters together."""
    keys = sorted(reference)
    g = torch.cat([grads[k].double().flatten() for k in keys])
    ref = torch.cat([reference[k].double().flatten() for k in keys])
    return float((g - ref).norm() / ref.norm())


def test_channels_last_parameters_and_same_state_dict():
    model = _model()
    names_before = {k: v.shape for k, v in model.state_dict().items()}
    values = {k: v.clone() for k, v in model.state_dict().items()}
    hook = HOOKS.build(dict(type='MemoryFormatHook'))
    assert isinstance(hook, MemoryFormatHook)
    hook.before_run(_Runner(model))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(
        c.weight.is_contiguous(memory_format=torch.channels_last)
        for c in convs)
    state = model.state_dict()
    assert {k: v.shape for k, v in state.items()} == names_before
    assert all(torch.equal(state[k], values[k]) for k in values)
    # back to the default layout
    MemoryFormatHook('contiguous').before_run(_Runner(model))
    assert all(c.weight.is_contiguous() for c in convs)


def test_channels_last_gives_the_same_loss_and_gradients():
    """Channels-last changes loss and gradients only by float32 rounding:
    no more than contiguous float32 differs from a float64 reference."""
    model = _model()
    model.train()
    contiguous = copy.deepcopy(model)
    float64 = copy.deepcopy(model).double()
    MemoryFormatHook().before_run(_Runner(model))
    loss, grads = _loss_and_grads(model)
    ref_loss, ref_grads = _loss_and_grads(contiguous)
    loss64, grads64 = _loss_and_grads(float64, torch.float64)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=0)
    torch.testing.assert_close(loss.double(), loss64, rtol=1e-5, atol=0)
    assert grads.keys() == ref_grads.keys() == grads64.keys()
    assert len(grads) > 100
    error = _relative_error(grads, grads64)
    fp32_error = _relative_error(ref_grads, grads64)
    assert error <= 2 * fp32_error + 1e-4, (error, fp32_error)


def test_bad_memory_format():
    with pytest.raises(ValueError, match='memory_format must be one of'):
        MemoryFormatHook('nhwc')
