import copy

import pytest
import torch
from mmcv.cnn import ConvModule
from torch.nn.modules.batchnorm import _BatchNorm

from mmyolo.models.layers import RepVGGBlock, SPPFBottleneck
from mmyolo.registry import MODELS
from mmyoloms.models.backbones import YOLOMSBackbone, YOLOv6MSBackbone
from mmyoloms.models.layers import MSBlock
from ..helpers import (assert_every_parameter_gets_a_gradient, halved_sizes,
                       norms_in_mode)

T = dict(deepen_factor=1 / 3, widen_factor=0.35)  # YOLOv6-MS-t
WIDTHS = [28, 56, 112, 224, 448]  # stem, stage1..4 at widen 0.35


@pytest.mark.parametrize('size', [(64, 64), (70, 45), (33, 97)])
def test_output_shapes_any_input_size(size):
    model = YOLOv6MSBackbone(**T)
    h, w = size
    outs = model(torch.rand(1, 3, h, w))
    expected_hw = halved_sizes(h, w)
    assert [tuple(o.shape) for o in outs] == [
        (1, c, *hw) for c, hw in zip(WIDTHS[2:], expected_hw[2:])
    ]


def test_structure_of_the_official_release():
    model = YOLOv6MSBackbone(**T)
    # RepVGG stem with RepVGGBlock's own BN and ReLU (not the stages' SiLU)
    assert isinstance(model.stem, RepVGGBlock)
    assert isinstance(model.stem.nonlinearity, torch.nn.ReLU)
    assert model.stem.rbr_dense.conv.stride == (2, 2)
    assert model.stem.rbr_dense.bn.momentum == 0.03
    for i, kernel in enumerate([3, 5, 7, 9], 1):
        stage = getattr(model, f'stage{i}')
        conv, block = stage[0], stage[1]
        # the stage conv goes straight to the output width
        assert isinstance(conv, ConvModule) and conv.conv.stride == (2, 2)
        assert (conv.conv.in_channels, conv.conv.out_channels) == (
            WIDTHS[i - 1], WIDTHS[i])
        assert isinstance(block, MSBlock)
        assert block.kernel_sizes == [1, kernel, kernel]
        assert block.in_conv.conv.in_channels == WIDTHS[i]
        assert block.out_conv.conv.out_channels == WIDTHS[i]
        assert block.mid_channels == 3 * WIDTHS[i]  # in_down_ratio 1
        assert len(block.mid_convs[1]) == 1  # int(3 * 1/3)
        assert isinstance(block.in_conv.activate, torch.nn.SiLU)
        assert block.in_conv.bn.momentum == 0.03
        assert block.in_conv.bn.eps == 0.001
        assert len(stage) == (3 if i == 4 else 2)
    # SPPF after the last MS-Block, unlike YOLOMSBackbone
    assert isinstance(model.stage4[2], SPPFBottleneck)
    assert model.stage4[2].poolings.kernel_size == 5
    assert isinstance(model, YOLOMSBackbone)


def test_every_parameter_gets_a_gradient():
    model = YOLOv6MSBackbone(out_indices=(0, 1, 2, 3, 4), **T)
    outs = model(torch.rand(2, 3, 64, 64))
    assert [o.shape[1] for o in outs] == WIDTHS
    assert_every_parameter_gets_a_gradient(model, outs)


def test_frozen_stages_and_norm_eval():
    model = YOLOv6MSBackbone(frozen_stages=1, **T)
    model.train()
    for name in ['stem', 'stage1']:
        layer = getattr(model, name)
        assert norms_in_mode(layer, False)
        assert all(not p.requires_grad for p in layer.parameters())
    assert norms_in_mode(model.stage2, True)
    model = YOLOv6MSBackbone(norm_eval=True, **T)
    model.train()
    assert norms_in_mode(model, False)
    assert all(p.requires_grad for p in model.parameters())


def test_stem_cfg_and_stage_plugins():
    model = YOLOv6MSBackbone(
        stem_cfg=dict(type='RepVGGBlock', act_cfg=dict(type='SiLU')),
        plugins=[dict(cfg=dict(type='CBAM'), stages=(False, False, True,
                                                     True))],
        **T)
    assert isinstance(model.stem.nonlinearity, torch.nn.SiLU)
    assert type(model.stage3[-1]).__name__ == 'CBAM'
    assert len(model.stage4) == 4  # conv, block, SPPF, plugin
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == WIDTHS[2:]


def test_no_caller_dict_mutation():
    cfgs = dict(
        stem_cfg=dict(type='RepVGGBlock'),
        block_cfg=dict(type='MSBlock'),
        spp_cfg=dict(kernel_sizes=3),
        norm_cfg=dict(type='BN', momentum=0.01, eps=0.001),
        act_cfg=dict(type='ReLU'),
        attention_cfg=dict(type='SEAttention'),
        plugins=[dict(cfg=dict(type='CBAM'), stages=(True, ) * 4)])
    snapshot = copy.deepcopy(cfgs)
    a = YOLOv6MSBackbone(**cfgs, **T)
    b = YOLOv6MSBackbone(**cfgs, **T)
    assert cfgs == snapshot
    assert a.stem is not b.stem
    # class defaults untouched
    c = YOLOv6MSBackbone(**T)
    assert c.stage1[1].in_conv.bn.momentum == 0.03
    assert c.stage1[1].attention is None
    assert c.stage4[2].poolings.kernel_size == 5


def test_block_cfg_swaps_the_block():
    model = YOLOv6MSBackbone(block_cfg=dict(type='Res2Block'), **T)
    assert type(model.stage2[1]).__name__ == 'Res2Block'
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == WIDTHS[2:]


@pytest.mark.parametrize('kwargs,name', [
    (dict(arch='P6'), 'arch'),
    (dict(out_indices=(5, )), 'out_indices'),
    (dict(frozen_stages=5), 'frozen_stages'),
    (dict(deepen_factor=0.1), 'layers_num'),
    (dict(stem_cfg=dict(act_cfg=dict(type='ReLU'))), 'stem_cfg'),
    (dict(stem_cfg='RepVGGBlock'), 'stem_cfg'),
    (dict(spp_cfg=dict(out_channels=8)), 'spp_cfg'),
    (dict(in_expand_ratio=0.5), 'in_expand_ratio|divisible'),
])
def test_bad_arguments(kwargs, name):
    args = dict(T)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        YOLOv6MSBackbone(**args)


def test_official_type_name_is_an_alias():
    assert MODELS.get('YOLOv6MS') is YOLOv6MSBackbone
    torch.manual_seed(0)
    ours = MODELS.build(dict(type='YOLOv6MSBackbone', **T)).state_dict()
    torch.manual_seed(0)
    official = MODELS.build(dict(type='YOLOv6MS', **T)).state_dict()
    assert list(ours) == list(official)
    assert all(torch.equal(ours[k], official[k]) for k in ours)


def test_init_weights_is_pytorch_conv_default():
    model = YOLOv6MSBackbone(**T)
    model.init_weights()
    w = model.stage1[0].conv.weight
    bound = 1 / (28 * 3 * 3)**0.5
    assert 0.5 * bound < w.abs().max() <= bound


def test_repvgg_stem_reparameterises_exactly():
    model = YOLOv6MSBackbone(**T)
    model.eval()  # mmyolo's BaseBackbone.train returns None
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        model.stem.switch_to_deploy()
        got = model(x)
    assert not hasattr(model.stem, 'rbr_dense')
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
