import copy

import pytest
import torch
from mmcv.cnn import ConvModule

from mmyolo.models.layers import SPPFBottleneck
from mmyolo.models.utils import make_divisible
from mmyolo.registry import MODELS
from mmyoloms.models.backbones import YOLOv8MSBackbone
from mmyoloms.models.layers import MSBlock
from ..helpers import assert_every_parameter_gets_a_gradient, halved_sizes

N = dict(deepen_factor=1 / 3, widen_factor=0.15, last_stage_out_channels=1280)
WIDTHS = [16, 24, 48, 96, 192]  # stem, stage1..4 of YOLOv8-MS-n


@pytest.mark.parametrize('size', [(64, 64), (70, 45)])
def test_output_shapes(size):
    model = YOLOv8MSBackbone(**N)
    h, w = size
    outs = model(torch.rand(1, 3, h, w))
    expected_hw = halved_sizes(h, w)
    assert [tuple(o.shape) for o in outs] == [
        (1, c, *hw) for c, hw in zip(WIDTHS[2:], expected_hw[2:])
    ]


def test_structure_of_the_official_release():
    model = YOLOv8MSBackbone(**N)
    assert isinstance(model.stem, ConvModule)
    assert model.stem.conv.stride == (2, 2)
    assert model.stem.conv.out_channels == 16
    assert isinstance(model.stem.activate, torch.nn.SiLU)
    for i, kernel in enumerate([3, 5, 7, 9], 1):
        stage = getattr(model, f'stage{i}')
        assert (stage[0].conv.in_channels,
                stage[0].conv.out_channels) == (WIDTHS[i - 1], WIDTHS[i])
        assert isinstance(stage[1], MSBlock)
        assert stage[1].kernel_sizes == [1, kernel, kernel]
        assert stage[1].out_conv.conv.out_channels == WIDTHS[i]
        assert len(stage[1].mid_convs[2]) == 1
    assert isinstance(model.stage4[2], SPPFBottleneck)


def test_widths_are_rounded_as_yolov8():
    # widen 0.33: int() would give 26/52/105/211/337, YOLOv8 rounds up
    model = YOLOv8MSBackbone(
        deepen_factor=1 / 3, widen_factor=0.33, out_indices=(0, 1, 2, 3, 4),
        plugins=[dict(cfg=dict(type='CBAM'), stages=(True, ) * 4)])
    expected = [make_divisible(c, 0.33) for c in (80, 160, 320, 640, 1024)]
    assert expected == [32, 56, 112, 216, 344]
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == expected
    # the plugins are built for the stage's real width
    assert model.stage4[-1].channel_attention.fc[0].in_channels == 344


def test_default_last_stage_width_is_yolov8s():
    model = YOLOv8MSBackbone(deepen_factor=1 / 3, widen_factor=0.25)
    assert model.stage4[0].conv.out_channels == 256  # 1024 * 0.25
    assert model.stage3[0].conv.out_channels == 160  # 640 * 0.25


def test_every_parameter_gets_a_gradient():
    model = YOLOv8MSBackbone(out_indices=(0, 1, 2, 3, 4), **N)
    outs = model(torch.rand(2, 3, 64, 64))
    assert [o.shape[1] for o in outs] == WIDTHS
    assert_every_parameter_gets_a_gradient(model, outs)


def test_init_weights_is_pytorch_conv_default_stem_included():
    model = YOLOv8MSBackbone(**N)
    model.init_weights()
    for conv, fan_in in ((model.stem.conv, 3 * 9), (model.stage2[0].conv,
                                                    24 * 9)):
        bound = 1 / fan_in**0.5
        assert 0.5 * bound < conv.weight.abs().max() <= bound


def test_no_caller_dict_mutation():
    cfgs = dict(
        block_cfg=dict(type='MSBlock'),
        norm_cfg=dict(type='BN', momentum=0.01, eps=0.001),
        act_cfg=dict(type='ReLU'),
        plugins=[dict(cfg=dict(type='CBAM'), stages=(True, ) * 4)])
    snapshot = copy.deepcopy(cfgs)
    YOLOv8MSBackbone(**cfgs, **N)
    assert cfgs == snapshot
    assert YOLOv8MSBackbone.arch_settings['C3-K3579'][-1][1] == 1280
    c = YOLOv8MSBackbone(**N)
    assert c.stem.bn.momentum == 0.03


@pytest.mark.parametrize('kwargs,name', [
    (dict(last_stage_out_channels=0), 'last_stage_out_channels'),
    (dict(last_stage_out_channels=512.0), 'last_stage_out_channels'),
    (dict(arch='P5'), 'arch'),
    (dict(deepen_factor=0.1), 'layers_num'),
    (dict(plugins=[dict(cfg=dict(type='CBAM'), stages=(True, ))]), 'stages'),
])
def test_bad_arguments(kwargs, name):
    args = dict(N)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        YOLOv8MSBackbone(**args)


def test_official_type_name_is_an_alias():
    assert MODELS.get('YOLOv8MS') is YOLOv8MSBackbone
    torch.manual_seed(0)
    ours = MODELS.build(dict(type='YOLOv8MSBackbone', **N)).state_dict()
    torch.manual_seed(0)
    official = MODELS.build(dict(type='YOLOv8MS', **N)).state_dict()
    assert list(ours) == list(official)
    assert all(torch.equal(ours[k], official[k]) for k in ours)
