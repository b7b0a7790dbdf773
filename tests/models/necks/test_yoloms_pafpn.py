import copy

import pytest
import torch

from mmyoloms.models.layers import MSBlock
from mmyoloms.models.necks import YOLOMSPAFPN
from ..helpers import assert_every_parameter_gets_a_gradient, random_feats

XS = dict(in_channels=[320, 640, 1280], out_channels=240,
          mid_channels=[160, 320, 640], deepen_factor=1 / 3,
          widen_factor=0.4)


def _feats(sizes=((40, 40), (20, 20), (10, 10)), chans=(128, 256, 512)):
    return random_feats(chans, sizes)


def test_shapes_and_grads():
    neck = YOLOMSPAFPN(**XS)
    outs = neck(_feats())
    assert [tuple(o.shape) for o in outs] == [(1, 96, 40, 40),
                                               (1, 96, 20, 20),
                                               (1, 96, 10, 10)]
    assert_every_parameter_gets_a_gradient(neck, outs)


def test_structure():
    neck = YOLOMSPAFPN(**XS)
    blocks = [m for m in neck.modules() if isinstance(m, MSBlock)]
    assert len(blocks) == 4
    assert all(b.kernel_sizes == [1, 3, 3] for b in blocks)
    assert all(b.mid_channels == int(b.in_conv.conv.in_channels * 3) // 2
               for b in blocks)
    assert len(neck.reduce_layers[2]) == 2


def test_identity_reduce_when_channels_match():
    neck = YOLOMSPAFPN([64, 128, 256], 32, [64, 128, 256], deepen_factor=1,
                       layers_num=1)
    assert isinstance(neck.reduce_layers[0], torch.nn.Identity)
    outs = neck(_feats(chans=(64, 128, 256), sizes=((16, 16), (8, 8),
                                                      (4, 4))))
    assert [o.shape[1] for o in outs] == [32, 32, 32]


def test_freeze_all():
    neck = YOLOMSPAFPN(freeze_all=True, **XS)
    neck.train()
    assert all(not p.requires_grad for p in neck.parameters())


def test_no_shared_config_mutation():
    block_cfg = dict(type='MSBlock', mid_expand_ratio=1)
    act_cfg = dict(type='ReLU')
    snap = copy.deepcopy((block_cfg, act_cfg))
    YOLOMSPAFPN(block_cfg=block_cfg, act_cfg=act_cfg, **XS)
    assert (block_cfg, act_cfg) == snap


@pytest.mark.parametrize('kwargs,name', [
    (dict(mid_channels=[160, 320]), 'mid_channels'),
    (dict(in_channels=[320], mid_channels=[160]), 'in_channels'),
    (dict(deepen_factor=0.1), 'layers_num'),
])
def test_bad_arguments(kwargs, name):
    args = dict(XS)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        YOLOMSPAFPN(**args)
