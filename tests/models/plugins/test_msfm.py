import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import DefaultScope

from mmyoloms.models.backbones import YOLOMSBackbone
from mmyoloms.models.plugins import MSFM
from ..helpers import assert_every_parameter_gets_a_gradient


@pytest.mark.parametrize('fusion', ['add', 'cat'])
@pytest.mark.parametrize('size', [(1, 1), (3, 5), (13, 8), (25, 19)])
def test_any_input_size_and_gradients(fusion, size):
    msfm = MSFM(32, scales=(0.5, 0.7, 1.0, 1.4, 2.0), ratio=4, norm_group=4,
                conv_num=2, fusion=fusion)
    x = torch.rand(2, 32, *size)
    out = msfm(x)
    assert out.shape == x.shape
    assert_every_parameter_gets_a_gradient(msfm, out)


def test_structure_follows_the_module_definition():
    msfm = MSFM(64, scales=(0.5, 1.0, 2.0), ratio=8, norm_group=4,
                conv_num=2, fusion='cat')
    assert (msfm.squeeze.in_channels, msfm.squeeze.out_channels) == (64, 8)
    assert len(msfm.branches) == 3
    for branch in msfm.branches:
        assert len(branch) == 2
        for unit in branch:
            assert unit.conv.kernel_size == (3, 3)
            assert unit.conv.in_channels == unit.conv.out_channels == 8
            assert isinstance(unit.norm, nn.GroupNorm)
            assert unit.norm.num_groups == 4
            assert isinstance(unit.activate, nn.ReLU)
    # cat: the unsqueeze conv reads all branches
    assert (msfm.unsqueeze.in_channels, msfm.unsqueeze.out_channels) == \
        (24, 64)
    assert MSFM(64, ratio=8, norm_group=4).unsqueeze.in_channels == 8


def test_forward_is_the_residual_formula():
    """M(x) = x + U(sum_i R_i^-1(F_i(R_i(S(x))))), bilinear resizes."""
    msfm = MSFM(16, scales=(0.5, 1.0, 1.5), ratio=2, norm_group=2).eval()
    x = torch.rand(1, 16, 9, 7)
    with torch.no_grad():
        s = msfm.squeeze(x)
        total = 0
        for scale, branch in zip(msfm.scales, msfm.branches):
            size = (max(1, round(9 * scale)), max(1, round(7 * scale)))
            y = F.interpolate(s, size=size, mode='bilinear',
                              align_corners=False)
            y = F.interpolate(branch(y), size=(9, 7), mode='bilinear',
                              align_corners=False)
            total = total + y
        torch.testing.assert_close(msfm(x), x + msfm.unsqueeze(total))
        # with U zeroed the module is the identity
        nn.init.zeros_(msfm.unsqueeze.weight)
        nn.init.zeros_(msfm.unsqueeze.bias)
        assert torch.equal(msfm(x), x)


def test_mmdet_resnet_plugin_at_several_positions():
    from mmdet.models.backbones import ResNet
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    msfm = dict(type='mmyolo.MSFM', scales=(0.5, 1.0), conv_num=1)
    plugins = [
        dict(cfg=dict(msfm, ratio=8, norm_group=4, postfix='_c2'),
             stages=(False, True, True, True), position='after_conv2'),
        dict(cfg=dict(msfm, ratio=16, norm_group=8, postfix='_c3'),
             stages=(False, True, True, True), position='after_conv3'),
    ]
    with DefaultScope.overwrite_default_scope('mmdet'):
        resnet = ResNet(depth=50, plugins=plugins)
    block = resnet.layer3[0]
    assert block.after_conv2_plugin_names == ['msfm_c2']
    assert block.after_conv3_plugin_names == ['msfm_c3']
    # the host injects the channels of each position
    assert block.msfm_c2.in_channels == 256
    assert block.msfm_c3.in_channels == 1024
    assert not hasattr(resnet.layer1[0], 'msfm_c3')
    outs = resnet(torch.rand(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]


def test_yoloms_backbone_stage_plugin():
    plugins = [dict(cfg=dict(type='MSFM', ratio=4, norm_group=2),
                    stages=(False, False, True, True))]
    plain = YOLOMSBackbone(deepen_factor=1 / 3, widen_factor=0.1)
    backbone = YOLOMSBackbone(deepen_factor=1 / 3, widen_factor=0.1,
                              plugins=plugins)
    assert len(backbone.stage3) == len(plain.stage3) + 1
    assert isinstance(backbone.stage3[-1], MSFM)
    assert backbone.stage3[-1].in_channels == 64
    assert not any(isinstance(m, MSFM) for m in backbone.stage2)
    outs = backbone(torch.rand(1, 3, 64, 64))
    assert [o.shape for o in outs] == [(1, 32, 8, 8), (1, 64, 4, 4),
                                       (1, 128, 2, 2)]


@pytest.mark.parametrize('kwargs, word', [
    (dict(fusion='mul'), 'fusion'),
    (dict(scales=(0.5, 0.0)), 'scales'),
    (dict(scales=(-1.0, )), 'scales'),
    (dict(scales=()), 'scales'),
    (dict(ratio=5), 'ratio'),
    (dict(ratio=4, norm_group=3), 'norm_group'),
    (dict(ratio=4, norm_group=4, conv_num=0), 'conv_num'),
    (dict(ratio=4, norm_group=4, norm_cfg=dict(type='BN')), 'norm_group'),
])
def test_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        MSFM(64, **kwargs)


def test_traceable_for_flop_counting():
    """mmengine's FlopAnalyzer traces the module (sizes become tensors)."""
    from mmengine.analysis import FlopAnalyzer
    msfm = MSFM(32, scales=(0.5, 1.0), ratio=4, norm_group=4)
    flops = FlopAnalyzer(msfm, torch.rand(1, 32, 9, 7))
    flops.unsupported_ops_warnings(False)
    # squeeze, unsqueeze and the 3x3 convs of both branches are counted
    squeeze = 32 * 8 * 9 * 7
    assert flops.total() > 2 * squeeze + 9 * 8 * 8 * 9 * 7


def test_norm_cfg():
    """GroupNorm with ``norm_group`` groups by default (16 if not given);
    another norm through ``norm_cfg``."""
    default = MSFM(64, ratio=2)
    norms = [m for m in default.modules() if isinstance(m, nn.GroupNorm)]
    assert norms and all(n.num_groups == 16 for n in norms)
    assert all(n.num_groups == 4 for n in MSFM(64, ratio=2, norm_group=4)
               .modules() if isinstance(n, nn.GroupNorm))
    norm_cfg = dict(type='BN')
    bn = MSFM(64, ratio=2, norm_cfg=norm_cfg)
    assert norm_cfg == dict(type='BN')  # not mutated
    assert not any(isinstance(m, nn.GroupNorm) for m in bn.modules())
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == 3
    x = torch.rand(2, 64, 9, 7, requires_grad=True)
    bn(x).sum().backward()
    assert x.grad is not None
