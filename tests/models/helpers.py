"""Checks shared by the model tests."""
import torch
from torch.nn.modules.batchnorm import _BatchNorm


def assert_every_parameter_gets_a_gradient(module, outs):
    """Backpropagate a loss on ``outs`` (a tensor or a sequence of them)
    and check that every trainable parameter of ``module`` receives a
    non-zero gradient."""
    if isinstance(outs, torch.Tensor):
        outs = [outs]
    sum(o.float().pow(2).mean() for o in outs).backward()
    missing = [
        n for n, p in module.named_parameters()
        if p.requires_grad and (p.grad is None or not torch.any(p.grad != 0))
    ]
    assert missing == []


def norms_in_mode(module, training):
    """Whether every BN layer of ``module`` is in the given mode."""
    return all(m.training == training for m in module.modules()
               if isinstance(m, _BatchNorm))


def halved_sizes(height, width, times=5):
    """The spatial sizes after each of ``times`` stride-2 layers (3x3,
    padding 1: ceil division)."""
    sizes = []
    for _ in range(times):
        height, width = (height + 1) // 2, (width + 1) // 2
        sizes.append((height, width))
    return sizes


def random_feats(channels, sizes, batch=1):
    """One random feature map per level."""
    return [torch.rand(batch, c, h, w) for c, (h, w) in zip(channels, sizes)]
