import copy

import pytest
import torch
import torch.nn as nn

from mmyolo.registry import MODELS
from mmyoloms.models.layers import MSBlock
from mmyoloms.models.necks import YOLOv8MSPAFPN
from ..helpers import assert_every_parameter_gets_a_gradient, random_feats

N = dict(in_channels=[320, 640, 1280], out_channels=[320, 640, 1280],
         deepen_factor=1 / 3, widen_factor=0.15)  # YOLOv8-MS-n
WIDTHS = (48, 96, 192)


def _feats(batch=1, sizes=((32, 40), (16, 20), (8, 10)), chans=WIDTHS):
    return random_feats(chans, sizes, batch)


def test_shapes_and_every_parameter_gets_a_gradient():
    neck = YOLOv8MSPAFPN(**N)
    outs = neck(_feats(2))
    assert [tuple(o.shape) for o in outs] == [(2, 48, 32, 40),
                                               (2, 96, 16, 20),
                                               (2, 192, 8, 10)]
    assert_every_parameter_gets_a_gradient(neck, outs)


def test_structure_is_yolov8_pafpn_with_ms_blocks():
    neck = YOLOv8MSPAFPN(**N)
    assert all(isinstance(m, nn.Identity) for m in neck.reduce_layers)
    assert all(isinstance(m, nn.Identity) for m in neck.out_layers)
    assert all(isinstance(m, nn.Upsample) and m.mode == 'nearest'
               for m in neck.upsample_layers)
    assert [(b.in_conv.conv.in_channels, b.out_conv.conv.out_channels)
            for b in neck.top_down_layers] == [(192 + 96, 96), (96 + 48, 48)]
    assert [(b.in_conv.conv.in_channels, b.out_conv.conv.out_channels)
            for b in neck.bottom_up_layers] == [(48 + 96, 96),
                                                (96 + 192, 192)]
    for block in neck.top_down_layers + neck.bottom_up_layers:
        assert isinstance(block, MSBlock)
        assert block.kernel_sizes == [1, 3, 3]
        assert block.mid_channels == block.in_conv.conv.in_channels * 3 // 2
        assert len(block.mid_convs[2]) == 1


def test_forward_is_the_yolov8_path_aggregation():
    neck = YOLOv8MSPAFPN(**N)
    neck.eval()
    c3, c4, c5 = _feats()
    with torch.no_grad():
        t4 = neck.top_down_layers[0](
            torch.cat([neck.upsample_layers[0](c5), c4], 1))
        p3 = neck.top_down_layers[1](
            torch.cat([neck.upsample_layers[1](t4), c3], 1))
        p4 = neck.bottom_up_layers[0](
            torch.cat([neck.downsample_layers[0](p3), t4], 1))
        p5 = neck.bottom_up_layers[1](
            torch.cat([neck.downsample_layers[1](p4), c5], 1))
        outs = neck([c3, c4, c5])
    for got, expected in zip(outs, (p3, p4, p5)):
        assert torch.equal(got, expected)


def test_output_widths_may_differ_from_backbone_widths():
    """Each block is sized by what it concatenates; YOLOv8's own PAFPN
    assumes in_channels == out_channels."""
    neck = YOLOv8MSPAFPN([64, 128, 256], [32, 64, 128], layers_num=1,
                         widen_factor=0.5)
    outs = neck(_feats(chans=(32, 64, 128), sizes=((16, 16), (8, 8),
                                                      (4, 4))))
    assert [o.shape[1] for o in outs] == [16, 32, 64]


def test_square_tuple_kernels_build_the_same_neck():
    torch.manual_seed(0)
    a = YOLOv8MSPAFPN(kernel_sizes=[1, (3, 3), (3, 3)], **N).state_dict()
    torch.manual_seed(0)
    b = YOLOv8MSPAFPN(kernel_sizes=(1, 3, 3), **N).state_dict()
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert MODELS.get('YOLOv8MSPAFPN') is YOLOv8MSPAFPN


def test_block_cfg_and_no_caller_dict_mutation():
    cfgs = dict(
        block_cfg=dict(type='Res2Block'),
        norm_cfg=dict(type='BN', momentum=0.01, eps=0.001),
        act_cfg=dict(type='ReLU'))
    snapshot = copy.deepcopy(cfgs)
    neck = YOLOv8MSPAFPN(**cfgs, **N)
    assert cfgs == snapshot
    assert type(neck.top_down_layers[0]).__name__ == 'Res2Block'
    assert isinstance(neck.downsample_layers[0].activate, nn.ReLU)
    assert [o.shape[1] for o in neck(_feats())] == list(WIDTHS)


def test_freeze_all():
    neck = YOLOv8MSPAFPN(freeze_all=True, **N)
    neck.train()
    assert all(not p.requires_grad for p in neck.parameters())


@pytest.mark.parametrize('kwargs,name', [
    (dict(in_channels=[320]), 'in_channels'),
    (dict(out_channels=320), 'out_channels'),
    (dict(out_channels=[320, 640]), 'out_channels'),
    (dict(deepen_factor=0.1), 'layers_num'),
    (dict(in_down_ratio=0), 'in_down_ratio'),
    (dict(kernel_sizes=3), 'kernel_sizes'),
])
def test_bad_arguments(kwargs, name):
    args = dict(N)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        YOLOv8MSPAFPN(**args)
