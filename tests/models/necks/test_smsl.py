import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmyolo.registry import MODELS
from mmyoloms.models.necks import SMSL


def _feats(channels, sizes, batch=2):
    return [torch.rand(batch, channels, h, w) for h, w in sizes]


def _perturb_nonlocal(neck):
    # mmcv initialises the non-local output conv to zero (identity block),
    # which would hide the rest of the non-local block from the checks
    nn.init.normal_(neck.refine.conv_out.conv.weight, std=0.1)


@pytest.mark.parametrize('sizes', [
    [(40, 40), (20, 20), (10, 10)],
    [(25, 19), (13, 10), (7, 5)],
    [(8, 8), (4, 4), (2, 2), (1, 1), (1, 1)],
    [(16, 12), (8, 6)],
    [(12, 12), (6, 6), (3, 3), (2, 2)],
])
def test_shapes_any_level_sizes_and_gradients(sizes):
    neck = SMSL(16, num_levels=len(sizes))
    _perturb_nonlocal(neck)
    feats = _feats(16, sizes)
    outs = neck(feats)
    assert isinstance(outs, tuple)
    assert [o.shape for o in outs] == [f.shape for f in feats]
    sum(o.pow(2).mean() for o in outs).backward()
    missing = [n for n, p in neck.named_parameters()
               if p.grad is None or not torch.any(p.grad != 0)]
    assert missing == []


def test_forward_follows_the_paper_equations():
    """Eqs. (1)-(15) written out with the module's own weights."""
    c, num_levels, r = 8, 3, 4
    neck = SMSL(c, num_levels=num_levels, reduction=r).eval()
    _perturb_nonlocal(neck)
    feats = _feats(c, [(12, 10), (6, 5), (3, 3)], batch=1)
    size = feats[1].shape[-2:]
    gathered = [
        F.adaptive_max_pool2d(feats[0], size), feats[1],
        F.interpolate(feats[2], size=size, mode='nearest')
    ]
    with torch.no_grad():
        d = torch.cat(gathered, dim=1)  # (1)
        fc1, _, fc2, _ = neck.channel_rescale
        s = torch.sigmoid(fc2(torch.relu(fc1(d.mean((2, 3))))))  # (2), (3)
        j = d * s[..., None, None]  # (4)
        q = j.split(c, dim=1)  # (5), (6)
        g = sum(q).mean((2, 3))  # (7), (8)

        def combine(layer):
            z = torch.relu(layer.norm(layer.fc1(g)))  # (9)
            m = layer.fc2(z).view(1, num_levels, c)  # (10)
            a = m.softmax(dim=1)  # (11)
            return sum(a[:, i, :, None, None] * q[i]
                       for i in range(num_levels))  # (12), (13)

        big_g = neck.refine(combine(neck.global_combination))
        expected = []
        for i, x in enumerate(feats):
            fused = combine(neck.local_combinations[i]) + big_g  # (14)
            if i == 0:
                fused = F.interpolate(fused, size=x.shape[-2:],
                                      mode='nearest')
            elif i == 2:
                fused = F.adaptive_max_pool2d(fused, x.shape[-2:])
            expected.append(fused + x)  # (15)
        for out, exp in zip(neck(feats), expected):
            torch.testing.assert_close(out, exp)


def test_structure():
    neck = SMSL(256, num_levels=5)
    assert neck.refine_level == 2
    assert neck.channel_rescale[0].out_features == 1280 // 8
    assert len(neck.local_combinations) == 5
    layer = neck.local_combinations[0]
    assert (layer.fc1.out_features, layer.fc2.out_features) == (32, 1280)
    assert isinstance(layer.norm, nn.LayerNorm)
    assert neck.refine.mode == 'embedded_gaussian'
    assert neck.refine.inter_channels == 256


def test_built_after_a_neck_as_a_list():
    necks = MODELS.build([
        dict(type='YOLOMSPAFPN', in_channels=[32, 64, 128], out_channels=16,
             mid_channels=[16, 32, 64], deepen_factor=1 / 3),
        dict(type='SMSL', in_channels=16, num_levels=3),
    ])
    feats = [torch.rand(1, c, s, s) for c, s in [(32, 8), (64, 4), (128, 2)]]
    outs = necks(feats)
    assert isinstance(necks[1], SMSL)
    assert [o.shape for o in outs] == [(1, 16, 8, 8), (1, 16, 4, 4),
                                       (1, 16, 2, 2)]


def test_level_count_and_channel_mismatch():
    neck = SMSL(16, num_levels=3)
    with pytest.raises(ValueError, match='num_levels'):
        neck(_feats(16, [(8, 8), (4, 4)]))
    with pytest.raises(ValueError, match='in_channels'):
        neck(_feats(16, [(8, 8), (4, 4)]) + _feats(8, [(2, 2)]))


@pytest.mark.parametrize('kwargs, word', [
    (dict(in_channels=20, num_levels=3), 'reduction'),
    (dict(in_channels=16, num_levels=3, reduction=3), 'reduction'),
    (dict(in_channels=16, num_levels=1), 'num_levels'),
    (dict(in_channels=0, num_levels=3), 'in_channels'),
    (dict(in_channels=16, num_levels=3, nonlocal_reduction=0),
     'nonlocal_reduction'),
])
def test_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        SMSL(**kwargs)
