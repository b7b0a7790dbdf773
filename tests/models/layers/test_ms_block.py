import copy

import pytest
import torch

from mmyolo.registry import MODELS
from mmyoloms.models.layers import MSBlock, MSBlockLayer, SEAttention
from ..helpers import assert_every_parameter_gets_a_gradient


@pytest.mark.parametrize('kernel_sizes', [[1, 3, 3], [1, 5, 5], [3, 3, 3],
                                          [1, 3], [1, 3, 5, 7]])
@pytest.mark.parametrize('layers_num', [1, 2, 3])
def test_msblock_shapes_and_grads(kernel_sizes, layers_num):
    in_ch = 4 * len(kernel_sizes)
    block = MSBlock(in_ch, 16, kernel_sizes=kernel_sizes,
                    layers_num=layers_num)
    x = torch.rand(2, in_ch, 13, 11)
    out = block(x)
    assert out.shape == (2, 16, 13, 11)
    assert_every_parameter_gets_a_gradient(block, out)
    for i, k in enumerate(kernel_sizes):
        branch = block.mid_convs[i]
        if k == 1:
            assert isinstance(branch, torch.nn.Identity)
        else:
            assert len(branch) == layers_num
            assert branch[0].mid_conv.conv.kernel_size == (k, k)
            assert branch[0].mid_conv.conv.groups == \
                branch[0].mid_conv.conv.in_channels


def test_msblock_channel_arithmetic_and_state_dict_names():
    block = MSBlock(32, 64, kernel_sizes=[1, 3, 3], in_expand_ratio=3,
                    mid_expand_ratio=2, layers_num=1)
    shapes = {k: tuple(v.shape) for k, v in block.state_dict().items()}
    assert shapes['in_conv.conv.weight'] == (96, 32, 1, 1)
    assert shapes['mid_convs.1.0.in_conv.conv.weight'] == (64, 32, 1, 1)
    assert shapes['mid_convs.1.0.mid_conv.conv.weight'] == (64, 1, 3, 3)
    assert shapes['mid_convs.2.0.out_conv.conv.weight'] == (32, 64, 1, 1)
    assert shapes['out_conv.conv.weight'] == (64, 96, 1, 1)
    assert not any(k.startswith('mid_convs.0.') for k in shapes)


def test_msblock_hierarchical_fusion():
    """Y1 = X1, Yi = IB_i(Xi + Y_{i-1}): check against a manual forward."""
    block = MSBlock(6, 5, kernel_sizes=[1, 3, 3], in_expand_ratio=1,
                    layers_num=1).eval()
    x = torch.rand(1, 6, 8, 8)
    with torch.no_grad():
        mid = block.in_conv(x)
        x1, x2, x3 = mid.split(2, dim=1)
        y1 = x1
        y2 = block.mid_convs[1](x2 + y1)
        y3 = block.mid_convs[2](x3 + y2)
        expected = block.out_conv(torch.cat([y1, y2, y3], 1))
        assert torch.allclose(block(x), expected, atol=1e-6)


def test_msblock_in_down_ratio_and_attention():
    block = MSBlock(256, 128, kernel_sizes=[1, 3, 3], in_expand_ratio=3,
                    in_down_ratio=2, layers_num=1,
                    attention_cfg=dict(type='SEAttention'))
    assert block.mid_channels == 384 and block.branch_channels == 128
    assert isinstance(block.attention, SEAttention)
    assert block.attention.fc[0].weight.shape == (8, 128)
    out = block(torch.rand(1, 256, 4, 4))
    assert out.shape == (1, 128, 4, 4)


def test_msblock_does_not_mutate_attention_cfg():
    cfg = dict(type='SEAttention', ratio=4)
    snapshot = copy.deepcopy(cfg)
    MSBlock(12, 8, attention_cfg=cfg, layers_num=1)
    MSBlock(12, 16, attention_cfg=cfg, layers_num=1)
    assert cfg == snapshot


@pytest.mark.parametrize('kwargs,name', [
    (dict(in_channels=10, kernel_sizes=[1, 3, 3], in_expand_ratio=1),
     'len(kernel_sizes)'),
    (dict(in_channels=12, kernel_sizes=[1, 4, 3]), 'kernel_sizes'),
    (dict(in_channels=12, kernel_sizes=[]), 'kernel_sizes'),
    (dict(in_channels=12, kernel_sizes=[1, (3, 5), 3]), 'square'),
    (dict(in_channels=12, kernel_sizes=[1, (4, 4), 3]), 'kernel_sizes'),
    (dict(in_channels=12, kernel_sizes=3), 'kernel_sizes'),
    (dict(in_channels=12, layers_num=0), 'layers_num'),
    (dict(in_channels=12, in_expand_ratio=0), 'in_expand_ratio'),
    (dict(in_channels=11, in_expand_ratio=1, in_down_ratio=2),
     'in_down_ratio'),
])
def test_msblock_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name.replace('(', r'\(').replace(
            ')', r'\)')):
        MSBlock(out_channels=8, **kwargs)


def test_msblock_layer_bad_kernel():
    with pytest.raises(ValueError, match='kernel_size'):
        MSBlockLayer(4, 4, kernel_size=2)


def test_registered_and_built_from_config():
    block = MODELS.build(dict(type='MSBlock', in_channels=6, out_channels=4,
                              layers_num=1))
    assert isinstance(block, MSBlock)


def test_se_attention():
    se = SEAttention(32, ratio=4)
    x = torch.randn(2, 32, 5, 5)
    out = se(x)
    assert out.shape == x.shape
    assert_every_parameter_gets_a_gradient(se, out)
    assert set(se.state_dict()) == {'fc.0.weight', 'fc.2.weight'}
    with pytest.raises(ValueError, match='ratio'):
        SEAttention(8, ratio=16)


def test_square_kernel_pairs_as_in_the_official_configs():
    """``kernel_sizes=[1, (3, 3), (3, 3)]`` (the official configs' form)
    builds the same block as ``[1, 3, 3]``."""
    torch.manual_seed(0)
    pairs = MSBlock(12, 8, kernel_sizes=[1, (3, 3), [3, 3]], layers_num=1)
    ints = MSBlock(12, 8, kernel_sizes=[1, 3, 3], layers_num=1)
    assert pairs.kernel_sizes == [1, 3, 3]
    ints.load_state_dict(pairs.state_dict())
    pairs.eval()
    ints.eval()
    x = torch.randn(1, 12, 7, 7)
    assert torch.equal(pairs(x), ints(x))


def test_se_attention_official_name():
    block = MSBlock(12, 32, layers_num=1, attention_cfg=dict(type='SE'))
    assert isinstance(block.attention, SEAttention)
    assert MODELS.get('SE') is SEAttention
