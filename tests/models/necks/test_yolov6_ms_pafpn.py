import copy

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmyolo.registry import MODELS
from mmyoloms.models.layers import MSBlock
from mmyoloms.models.necks import YOLOv6MSPAFPN
from ..helpers import assert_every_parameter_gets_a_gradient, random_feats

T = dict(in_channels=[320, 640, 1280], out_channels=[160, 320, 640],
         deepen_factor=1 / 3, widen_factor=0.35)  # YOLOv6-MS-t
IN = (112, 224, 448)
OUT = (56, 112, 224)


def _feats(batch=1, sizes=((32, 40), (16, 20), (8, 10)), chans=IN):
    return random_feats(chans, sizes, batch)


def test_shapes_and_every_parameter_gets_a_gradient():
    neck = YOLOv6MSPAFPN(**T)
    outs = neck(_feats(2))
    assert [tuple(o.shape) for o in outs] == [(2, 56, 32, 40),
                                               (2, 112, 16, 20),
                                               (2, 224, 8, 10)]
    assert_every_parameter_gets_a_gradient(neck, outs)


def test_structure_is_yolov6_rep_pafpn_with_ms_blocks():
    neck = YOLOv6MSPAFPN(**T)
    # YOLOv6's own layers around the blocks
    assert isinstance(neck.reduce_layers[0], nn.Identity)
    assert isinstance(neck.reduce_layers[2], ConvModule)
    assert all(isinstance(m, nn.ConvTranspose2d) and m.stride == (2, 2)
               for m in neck.upsample_layers)
    assert all(isinstance(m, nn.Identity) for m in neck.out_layers)
    # top-down: in + out -> out, the upper one followed by a 1x1 conv
    td0, td1 = neck.top_down_layers
    assert isinstance(td0[0], MSBlock) and isinstance(td0[1], ConvModule)
    assert (td0[0].in_conv.conv.in_channels, td0[1].conv.out_channels) == (
        OUT[1] + IN[1], OUT[0])
    assert td1.in_conv.conv.in_channels == OUT[0] + IN[0]
    # bottom-up: 2 * out[i] -> out[i + 1]
    assert [(b.in_conv.conv.in_channels, b.out_conv.conv.out_channels)
            for b in neck.bottom_up_layers] == [(112, 112), (224, 224)]
    blocks = [m for m in neck.modules() if isinstance(m, MSBlock)]
    assert len(blocks) == 4
    for block in blocks:
        assert block.kernel_sizes == [1, 3, 3]
        # in_expand_ratio 3, in_down_ratio 2
        assert block.mid_channels == block.in_conv.conv.in_channels * 3 // 2
        assert len(block.mid_convs[1]) == 1
        assert block.in_conv.bn.momentum == 0.03
        assert isinstance(block.in_conv.activate, nn.SiLU)


def test_forward_is_the_yolov6_path_aggregation():
    """The upsampled feature comes first in each concatenation and the
    bottom-up blocks take [downsampled, top-down] (official order)."""
    neck = YOLOv6MSPAFPN(**T)
    neck.eval()
    c3, c4, c5 = _feats()
    with torch.no_grad():
        r5 = neck.reduce_layers[2](c5)
        t4 = neck.top_down_layers[0](
            torch.cat([neck.upsample_layers[0](r5), c4], 1))
        p3 = neck.top_down_layers[1](
            torch.cat([neck.upsample_layers[1](t4), c3], 1))
        p4 = neck.bottom_up_layers[0](
            torch.cat([neck.downsample_layers[0](p3), t4], 1))
        p5 = neck.bottom_up_layers[1](
            torch.cat([neck.downsample_layers[1](p4), r5], 1))
        outs = neck([c3, c4, c5])
    for got, expected in zip(outs, (p3, p4, p5)):
        assert torch.equal(got, expected)


def test_square_tuple_kernels_build_the_same_neck():
    """The official configs write kernel_sizes=[1, (3, 3), (3, 3)]."""
    torch.manual_seed(0)
    a = YOLOv6MSPAFPN(kernel_sizes=[1, (3, 3), (3, 3)], **T).state_dict()
    torch.manual_seed(0)
    b = YOLOv6MSPAFPN(kernel_sizes=[1, 3, 3], **T).state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert MODELS.get('YOLOv6MSPAFPN') is YOLOv6MSPAFPN


def test_block_cfg_overrides_and_no_caller_dict_mutation():
    cfgs = dict(
        block_cfg=dict(type='MSBlock', mid_expand_ratio=1),
        norm_cfg=dict(type='BN', momentum=0.01, eps=0.001),
        act_cfg=dict(type='ReLU'))
    snapshot = copy.deepcopy(cfgs)
    neck = YOLOv6MSPAFPN(**cfgs, **T)
    assert cfgs == snapshot
    block = neck.bottom_up_layers[0]
    assert block.mid_convs[1][0].in_conv.conv.out_channels == \
        block.branch_channels  # mid_expand_ratio 1 from block_cfg
    assert block.in_conv.bn.momentum == 0.01
    assert isinstance(neck.reduce_layers[2].activate, nn.ReLU)
    assert YOLOv6MSPAFPN(**T).bottom_up_layers[0].in_conv.bn.momentum == \
        0.03


def test_res2_block_drops_in():
    neck = YOLOv6MSPAFPN(block_cfg=dict(type='Res2Block'), **T)
    assert type(neck.bottom_up_layers[1]).__name__ == 'Res2Block'
    assert [o.shape[1] for o in neck(_feats())] == list(OUT)


def test_freeze_all():
    neck = YOLOv6MSPAFPN(freeze_all=True, **T)
    neck.train()
    assert all(not p.requires_grad for p in neck.parameters())


@pytest.mark.parametrize('kwargs,name', [
    (dict(in_channels=[320, 640]), 'in_channels'),
    (dict(out_channels=160), 'out_channels'),
    (dict(out_channels=[160, 320, 640, 1280]), 'out_channels'),
    (dict(deepen_factor=0.1), 'layers_num'),
    (dict(kernel_sizes=[1, 2, 3]), 'kernel_sizes'),
    (dict(kernel_sizes=[1, (3, 5)]), 'kernel_sizes'),
    (dict(kernel_sizes=3), 'kernel_sizes'),
])
def test_bad_arguments(kwargs, name):
    args = dict(T)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        YOLOv6MSPAFPN(**args)
