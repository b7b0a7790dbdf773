import copy

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmyolo.registry import MODELS
from mmyoloms.models.backbones import YOLOMSBackbone
from mmyoloms.models.layers import (MSBlock, PSConv2d, Res2Block,
                                    SEAttention)
from mmyoloms.models.necks import YOLOMSPAFPN
from ..helpers import assert_every_parameter_gets_a_gradient


@pytest.mark.parametrize('kernel_sizes', [[1, 3, 3], [1, 3, 3, 3], [3, 3],
                                          [1, 5], [1, 3, 5, 7]])
@pytest.mark.parametrize('layers_num, mid_expand_ratio', [(1, 1), (2, 1),
                                                          (1, 2), (2, 2)])
def test_shapes_and_grads(kernel_sizes, layers_num, mid_expand_ratio):
    in_ch = 4 * len(kernel_sizes)
    block = Res2Block(in_ch, 16, kernel_sizes=kernel_sizes,
                      layers_num=layers_num,
                      mid_expand_ratio=mid_expand_ratio)
    x = torch.rand(2, in_ch, 11, 9)
    out = block(x)
    assert out.shape == (2, 16, 11, 9)
    assert_every_parameter_gets_a_gradient(block, out)


def test_branch_structure_honours_every_width_argument():
    # mid = int(12 * 2) // 2 = 12 channels, 3 splits of 4
    block = Res2Block(12, 10, kernel_sizes=[1, 3, 5], in_expand_ratio=2,
                      in_down_ratio=2, mid_expand_ratio=1.5, layers_num=2)
    assert block.in_conv.conv.out_channels == 12
    assert isinstance(block.mid_convs[0], nn.Identity)
    for branch, k in zip(block.mid_convs[1:], [3, 5]):
        convs = [m.conv for m in branch]
        # two kxk convs at int(4 * 1.5) = 6 channels, then 1x1 back to 4
        assert [(c.in_channels, c.out_channels, c.kernel_size, c.groups)
                for c in convs] == [(4, 6, (k, k), 1), (6, 6, (k, k), 1),
                                    (6, 4, (1, 1), 1)]
    assert block.out_conv.conv.in_channels == 12
    assert block.out_conv.conv.out_channels == 10


def test_res2net_branch_is_a_single_3x3_conv_at_split_width():
    block = Res2Block(8, 8, kernel_sizes=[1, 3, 3, 3], in_expand_ratio=2,
                      mid_expand_ratio=1, layers_num=1)
    for branch in block.mid_convs[1:]:
        assert len(branch) == 1
        conv = branch[0].conv
        assert (conv.in_channels, conv.out_channels, conv.kernel_size) == \
            (4, 4, (3, 3))


def test_hierarchy_follows_res2net():
    """y1 = x1, y2 = K2(x2), y3 = K3(x3 + y2): x1 is not fed forward."""
    block = Res2Block(6, 5, kernel_sizes=[1, 3, 3], in_expand_ratio=1,
                      mid_expand_ratio=1, layers_num=1).eval()
    x = torch.rand(1, 6, 8, 8)
    with torch.no_grad():
        x1, x2, x3 = block.in_conv(x).split(2, dim=1)
        y2 = block.mid_convs[1](x2)
        y3 = block.mid_convs[2](x3 + y2)
        expected = block.out_conv(torch.cat([x1, y2, y3], dim=1))
        torch.testing.assert_close(block(x), expected)
        # a non-identity first split feeds the hierarchy
        first = Res2Block(6, 5, kernel_sizes=[3, 3], in_expand_ratio=1,
                          mid_expand_ratio=1, layers_num=1).eval()
        a, b = first.in_conv(x).split(3, dim=1)
        ya = first.mid_convs[0](a)
        yb = first.mid_convs[1](b + ya)
        torch.testing.assert_close(
            first(x), first.out_conv(torch.cat([ya, yb], dim=1)))


def test_attention_conv_norm_act_configs_are_honoured():
    attention_cfg = dict(type='SEAttention', ratio=4)
    before = copy.deepcopy(attention_cfg)
    block = Res2Block(8, 16, kernel_sizes=[1, 3], in_expand_ratio=1,
                      attention_cfg=attention_cfg,
                      conv_cfg=dict(type='PSConv2d'),
                      norm_cfg=dict(type='GN', num_groups=2),
                      act_cfg=dict(type='ReLU'))
    assert attention_cfg == before
    assert isinstance(block.attention, SEAttention)
    assert block.attention.fc[0].in_features == 16
    convs = [m for m in block.modules() if isinstance(m, ConvModule)]
    assert all(isinstance(m.conv, PSConv2d) for m in convs)
    assert all(isinstance(m.norm, nn.GroupNorm) for m in convs)
    assert all(isinstance(m.activate, nn.ReLU) for m in convs)
    assert block(torch.rand(1, 8, 6, 6)).shape == (1, 16, 6, 6)


def test_replaces_msblock_through_block_cfg_in_backbone_and_neck():
    block_cfg = dict(type='Res2Block', kernel_sizes=[1, 3, 3],
                     mid_expand_ratio=1)
    backbone = YOLOMSBackbone(deepen_factor=1 / 3, widen_factor=0.1,
                              block_cfg=block_cfg,
                              attention_cfg=dict(type='SEAttention', ratio=4))
    neck = YOLOMSPAFPN([320, 640, 1280], 240, [160, 320, 640],
                       deepen_factor=1 / 3, widen_factor=0.1,
                       block_cfg=block_cfg)
    blocks = [m for m in list(backbone.modules()) + list(neck.modules())
              if isinstance(m, (Res2Block, MSBlock))]
    assert len(blocks) == 8
    assert all(isinstance(b, Res2Block) for b in blocks)
    # the backbone's attention_cfg reaches the block
    assert isinstance(backbone.stage1[-1].attention, SEAttention)
    feats = backbone(torch.rand(1, 3, 64, 64))
    outs = neck(feats)
    assert [o.shape for o in outs] == [(1, 24, 8, 8), (1, 24, 4, 4),
                                       (1, 24, 2, 2)]


def test_registered():
    block = MODELS.build(dict(type='Res2Block', in_channels=6,
                              out_channels=6))
    assert isinstance(block, Res2Block)


@pytest.mark.parametrize('kwargs, word', [
    (dict(kernel_sizes=[]), 'kernel_sizes'),
    (dict(kernel_sizes=[1, 2]), 'kernel_sizes'),
    (dict(layers_num=0), 'layers_num'),
    (dict(mid_expand_ratio=0), 'mid_expand_ratio'),
    (dict(mid_expand_ratio=0.1), 'mid_expand_ratio'),
    (dict(in_expand_ratio=0), 'in_expand_ratio'),
    (dict(in_down_ratio=5), 'in_down_ratio'),
    (dict(kernel_sizes=[1, 3, 3, 3, 3]), 'len\\(kernel_sizes\\)'),
])
def test_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        Res2Block(6, 6, **kwargs)
