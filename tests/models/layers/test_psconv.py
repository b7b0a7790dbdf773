import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_conv_layer
from mmengine.analysis import FlopAnalyzer
from mmengine.registry import DefaultScope

from mmyoloms.models.layers import PSConv2d


def eq3(conv: PSConv2d, x: torch.Tensor) -> torch.Tensor:
    """Eq. (3) read literally: one masked dense conv per dilation rate, each
    kernel padded by r * (k - 1) / 2 beyond what the vanilla layer's own
    dilation needs."""
    kh, kw = conv.kernel_size
    d0 = conv.dilation[0]
    c = torch.arange(conv.out_channels)[:, None]
    k = torch.arange(conv.in_channels // conv.groups)[None, :]
    t = len(conv.dilations)
    dil = torch.tensor(conv.dilations)[(c + k) % t] * d0
    base_pad = conv.padding if conv.padding != 'same' else (d0 * (kh - 1) // 2,
                                                            d0 * (kw - 1) // 2)
    out = 0
    for r in dil.unique().tolist():
        mask = (dil == r).to(conv.weight.dtype)[:, :, None, None]
        pad = (base_pad[0] + (r - d0) * (kh - 1) // 2,
               base_pad[1] + (r - d0) * (kw - 1) // 2)
        x_in = x
        if conv.padding_mode != 'zeros':
            x_in = F.pad(x, (pad[1], pad[1], pad[0], pad[0]),
                         mode=conv.padding_mode)
            pad = (0, 0)
        out = out + F.conv2d(x_in, conv.weight * mask, None, conv.stride, pad,
                             r, conv.groups)
    if conv.bias is not None:
        out = out + conv.bias.view(1, -1, 1, 1)
    return out


CASES = {
    'dense': dict(in_channels=8, out_channels=12, kernel_size=3, padding=1),
    'grouped': dict(
        in_channels=16, out_channels=24, kernel_size=3, padding=1, groups=2),
    'grouped_small_groups': dict(
        in_channels=8, out_channels=12, kernel_size=3, padding=1, groups=2),
    'depthwise': dict(
        in_channels=12, out_channels=12, kernel_size=3, padding=1,
        groups=12),
    'depthwise_multiplier': dict(
        in_channels=6, out_channels=12, kernel_size=3, padding=1, groups=6),
    'stride2': dict(
        in_channels=8, out_channels=8, kernel_size=3, padding=1, stride=2),
    'base_dilation2': dict(
        in_channels=8, out_channels=12, kernel_size=3, padding=2,
        dilation=2),
    'channels_not_multiple_of_t': dict(
        in_channels=6, out_channels=10, kernel_size=3, padding=1),
    'kernel5_no_bias': dict(
        in_channels=5, out_channels=7, kernel_size=5, padding=2, bias=False),
    'kernel_1x3': dict(
        in_channels=8, out_channels=8, kernel_size=(1, 3), padding=(0, 1)),
    'unpadded': dict(in_channels=8, out_channels=8, kernel_size=3),
    'same_string': dict(
        in_channels=8, out_channels=8, kernel_size=3, padding='same'),
    'reflect': dict(
        in_channels=8, out_channels=8, kernel_size=3, padding=1,
        padding_mode='reflect'),
    'other_pattern': dict(
        in_channels=9, out_channels=6, kernel_size=3, padding=1,
        dilations=(1, 3, 2)),
    'one_rate': dict(
        in_channels=4, out_channels=6, kernel_size=3, padding=1,
        dilations=(2, 2)),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_matches_eq3_values_and_gradients(name):
    cfg = CASES[name]
    conv = PSConv2d(**cfg).double()
    x = torch.randn(2, cfg['in_channels'], 15, 13, dtype=torch.float64,
                    requires_grad=True)
    out = conv(x)
    ref = eq3(conv, x)
    torch.testing.assert_close(out, ref)
    # output shape is always the vanilla conv's
    vanilla = nn.Conv2d(**{
        k: v
        for k, v in cfg.items() if k != 'dilations'
    }).double()
    assert out.shape == vanilla(x).shape
    grad = torch.randn_like(out)
    params = [conv.weight, x] + ([conv.bias] if conv.bias is not None else [])
    got = torch.autograd.grad(out, params, grad)
    want = torch.autograd.grad(ref, params, grad)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)


def test_dilation_matrix_follows_the_cyclic_rule():
    conv = PSConv2d(12, 8, 3, padding=2, dilation=2, groups=2)
    d = conv.dilation_matrix()
    assert d.shape == (8, 6)
    pattern = (1, 2, 1, 4)
    for c in range(8):
        for k in range(6):
            assert d[c, k] == pattern[(c + k) % 4] * 2
    # every row and column mixes rates (the paper's design principle)
    dense = PSConv2d(16, 16, 3, padding=1).dilation_matrix()
    assert all(len(row.unique()) == 3 for row in dense)
    assert all(len(col.unique()) == 3 for col in dense.t())
    # depthwise: the pattern runs across the groups (appendix A)
    dw = PSConv2d(8, 8, 3, padding=1, groups=8).dilation_matrix()
    assert dw.flatten().tolist() == [1, 2, 1, 4, 1, 2, 1, 4]


def test_same_parameters_as_conv2d_and_loads_its_state_dict():
    vanilla = nn.Conv2d(16, 32, 3, padding=1, groups=2)
    ps = PSConv2d(16, 32, 3, padding=1, groups=2)
    assert [(n, p.shape) for n, p in ps.named_parameters()] == \
        [(n, p.shape) for n, p in vanilla.named_parameters()]
    assert set(ps.state_dict()) == {'weight', 'bias'}
    ps.load_state_dict(vanilla.state_dict(), strict=True)
    assert torch.equal(ps.weight, vanilla.weight)


def test_1x1_is_a_plain_conv():
    vanilla = nn.Conv2d(8, 4, 1)
    ps = PSConv2d(8, 4, 1)
    ps.load_state_dict(vanilla.state_dict())
    x = torch.rand(2, 8, 7, 7)
    assert torch.equal(ps(x), vanilla(x))


@pytest.mark.parametrize('cfg', [
    dict(in_channels=64, out_channels=64, groups=1),
    dict(in_channels=64, out_channels=64, groups=4),
    dict(in_channels=64, out_channels=64, groups=64),
])
def test_flops_equal_the_vanilla_conv(cfg):
    """No masked dense copies: the regrouped convs do the vanilla MACs."""
    x = torch.rand(1, cfg['in_channels'], 16, 16)
    vanilla = nn.Conv2d(kernel_size=3, padding=1, **cfg)
    ps = PSConv2d(kernel_size=3, padding=1, **cfg)
    assert FlopAnalyzer(ps, x).total() == FlopAnalyzer(vanilla, x).total()


def test_padded_regrouping_stays_close_to_vanilla_flops():
    x = torch.rand(1, 6, 16, 16)
    vanilla = FlopAnalyzer(nn.Conv2d(6, 10, 3, padding=1), x).total()
    ps = FlopAnalyzer(PSConv2d(6, 10, 3, padding=1), x).total()
    # zero-padded groups when 6 and 10 are not multiples of t = 4
    assert vanilla <= ps <= 1.5 * vanilla


def test_follows_device_and_dtype_and_keeps_buffers_out_of_state_dict():
    conv = PSConv2d(8, 8, 3, padding=1).to(torch.float64)
    assert all(not k.startswith('_ps') for k in conv.state_dict())
    out = conv(torch.rand(1, 8, 9, 9, dtype=torch.float64))
    assert out.dtype == torch.float64


def test_efficient_conv_bn_eval_uses_poly_scale_forward():
    """mmcv ConvModule's fused conv-BN eval path calls conv._conv_forward
    with the folded weight: it must take the poly-scale path too."""
    x = torch.rand(2, 8, 10, 10)
    plain = ConvModule(8, 8, 3, padding=1, conv_cfg=dict(type=PSConv2d),
                       norm_cfg=dict(type='BN')).eval()
    fused = ConvModule(8, 8, 3, padding=1, conv_cfg=dict(type=PSConv2d),
                       norm_cfg=dict(type='BN'),
                       fast_conv_bn_eval=True).eval()
    for name, value in plain.norm.named_buffers():
        if value.is_floating_point():
            value.uniform_(0.5, 1.5)
    plain.norm.weight.data.uniform_(0.5, 1.5)
    plain.norm.bias.data.uniform_(-1, 1)
    fused.load_state_dict(plain.state_dict())
    torch.testing.assert_close(fused(x), plain(x))
    reference = plain.activate(plain.norm(eq3(plain.conv, x)))
    torch.testing.assert_close(plain(x), reference)


def test_build_conv_layer_in_mmyolo_and_mmdet_scopes():
    conv = build_conv_layer(dict(type='PSConv2d', dilations=(1, 2)), 4, 8, 3,
                            padding=1)
    assert isinstance(conv, PSConv2d)
    assert conv.dilations == (1, 2)
    with DefaultScope.overwrite_default_scope('mmdet'):
        conv = build_conv_layer(dict(type='mmyolo.PSConv2d'), 4, 8, 3)
    assert isinstance(conv, PSConv2d)


def test_mmdet_resnet_dcn_hook_builds_ps_resnet():
    from mmdet.models.backbones import ResNet
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        vanilla = ResNet(depth=50)
        ps = ResNet(depth=50, dcn=dict(type='mmyolo.PSConv2d'),
                    stage_with_dcn=(False, True, True, True))
    blocks = [b for layer in (ps.layer1, ps.layer2, ps.layer3, ps.layer4)
              for b in layer]
    assert not isinstance(ps.layer1[0].conv2, PSConv2d)
    assert all(isinstance(b.conv2, PSConv2d) for b in blocks[3:])
    assert all(not isinstance(b.conv1, PSConv2d) for b in blocks)
    # PS-ResNet-50 has exactly ResNet-50's parameters
    assert [(n, p.shape) for n, p in ps.named_parameters()] == \
        [(n, p.shape) for n, p in vanilla.named_parameters()]
    ps.load_state_dict(vanilla.state_dict(), strict=True)
    outs = ps(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]


@pytest.mark.parametrize('kwargs, word', [
    (dict(in_channels=6, out_channels=8, groups=4), 'groups'),
    (dict(in_channels=8, out_channels=6, groups=4), 'groups'),
    (dict(in_channels=8, out_channels=8, dilations=()), 'dilations'),
    (dict(in_channels=8, out_channels=8, dilations=(1, 0)), 'dilations'),
    (dict(in_channels=8, out_channels=8, dilations=(1, 1.5)), 'dilations'),
    (dict(in_channels=8, out_channels=8, kernel_size=2), 'kernel_size'),
    (dict(in_channels=8, out_channels=8, dilation=(1, 2)), 'dilation'),
])
def test_bad_arguments(kwargs, word):
    kwargs.setdefault('kernel_size', 3)
    with pytest.raises(ValueError, match=word):
        PSConv2d(**kwargs)
