import copy

import pytest
import torch
import torch.nn as nn

from mmyoloms.deploy import (build_detector, count_batch_norms,
                             deploy_model, fold_batch_norms,
                             fuse_conv_bn_weights)

from .helpers import S_CONFIG, TINY_CONFIG, XS_CONFIG, randomize_batch_norms


def _outputs(model, x):
    with torch.no_grad():
        cls_scores, bbox_preds = model._forward(x)
    return list(cls_scores) + list(bbox_preds)


@pytest.fixture(scope='module')
def xs():
    model = build_detector(XS_CONFIG)
    randomize_batch_norms(model)
    return model


def test_fold_is_exact_in_float64(xs):
    eager = copy.deepcopy(xs).double()
    folded = copy.deepcopy(eager)
    num_bns = count_batch_norms(folded)
    assert fold_batch_norms(folded) == num_bns
    assert count_batch_norms(folded) == 0
    x = torch.randn(1, 3, 96, 128, dtype=torch.float64)
    for a, b in zip(_outputs(eager, x), _outputs(folded, x)):
        assert a.shape == b.shape
        assert (a - b).abs().max().item() < 1e-9


def test_deploy_model_matches_eager(xs):
    x = torch.randn(1, 3, 160, 160)
    deployed = deploy_model(copy.deepcopy(xs))
    assert deployed.deploy
    assert count_batch_norms(deployed) == 0
    assert deployed.backbone.stem[0].conv.weight.is_contiguous(
        memory_format=torch.channels_last)
    for a, b in zip(_outputs(xs, x), _outputs(deployed, x)):
        assert (a - b).abs().max().item() < 1e-4
    # the eager model is untouched
    assert count_batch_norms(xs) > 0


def test_shared_head_convs_are_folded_per_level():
    # RTMDet's head shares each conv between the pyramid levels, each level
    # with its own BN: folding in place into the shared conv would be wrong
    model = build_detector(TINY_CONFIG)
    randomize_batch_norms(model)
    head = model.bbox_head.head_module
    assert head.cls_convs[1][0].conv is head.cls_convs[0][0].conv
    deployed = deploy_model(copy.deepcopy(model), channels_last=False)
    dhead = deployed.bbox_head.head_module
    assert dhead.cls_convs[1][0].conv is not dhead.cls_convs[0][0].conv
    x = torch.randn(1, 3, 128, 128)
    for a, b in zip(_outputs(model, x), _outputs(deployed, x)):
        assert (a - b).abs().max().item() < 1e-4


def test_fuse_needs_running_stats():
    conv = nn.Conv2d(3, 4, 3)
    bn = nn.BatchNorm2d(4, track_running_stats=False)
    with pytest.raises(ValueError, match='running statistics'):
        fuse_conv_bn_weights(conv, bn)


def test_fold_sequential_pair_and_unfoldable_bn():
    seq = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    randomize_batch_norms(seq)
    seq.eval()
    x = torch.randn(2, 3, 8, 8)
    ref = seq(x)
    assert fold_batch_norms(seq) == 1
    assert isinstance(seq[1], nn.Identity)
    assert torch.allclose(seq(x), ref, atol=1e-5)

    bn_first = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 4, 1))
    with pytest.raises(ValueError, match='cannot be folded'):
        deploy_model(bn_first, channels_last=False)


def test_channel_padding_is_exact_and_aligns_widths():
    # YOLO-MS-S has odd widths (129 channels in the head, 86 in the
    # stage-1 MS-Block layers)
    model = build_detector(S_CONFIG)
    randomize_batch_norms(model)
    eager = copy.deepcopy(model).double()
    padded = deploy_model(copy.deepcopy(eager), channels_last=False,
                          channel_multiple=16)
    head = padded.bbox_head.head_module
    assert head.cls_convs[0][0].conv.in_channels == 129  # module input kept
    assert head.cls_convs[0][0].conv.out_channels == 144
    assert head.rtm_cls[0].in_channels == 144
    assert head.rtm_cls[0].out_channels == 80  # module output kept
    assert model.backbone.stage1[1].mid_convs[1][0].in_conv.conv \
        .out_channels == 86
    layer = padded.backbone.stage1[1].mid_convs[1][0]
    assert layer.in_conv.conv.out_channels == 96
    assert layer.mid_conv.conv.groups == 96
    assert layer.out_conv.conv.in_channels == 96
    assert layer.out_conv.conv.out_channels == 43
    x = torch.randn(1, 3, 96, 96, dtype=torch.float64)
    for a, b in zip(_outputs(eager, x), _outputs(padded, x)):
        assert (a - b).abs().max().item() < 1e-9


def test_channel_padding_bad_multiple(xs):
    with pytest.raises(ValueError, match='multiple'):
        deploy_model(copy.deepcopy(xs), channel_multiple=0)


def test_channel_padding_refuses_other_conv_classes():
    # a padded copy is a plain nn.Conv2d: a PSConv2d (per-kernel dilations)
    # would silently lose what makes it one
    from mmyoloms.deploy.pad import pad_channels, pad_conv_chain
    from mmyoloms.models.layers import MSBlockLayer, PSConv2d
    layer = MSBlockLayer(43, 43, 3, conv_cfg=dict(type='PSConv2d'))
    assert isinstance(layer.mid_conv.conv, PSConv2d)
    model = nn.Sequential(layer).eval()
    fold_batch_norms(model)
    with pytest.raises(TypeError, match='plain nn.Conv2d'):
        pad_channels(model, 16)
    with pytest.raises(TypeError, match='got PSConv2d'):
        pad_conv_chain([nn.Conv2d(8, 43, 1), PSConv2d(43, 8, 3, padding=1)],
                       [True], 16)
    # plain convs pad as before
    chain = pad_conv_chain([nn.Conv2d(8, 43, 1), nn.Conv2d(43, 8, 1)],
                           [True], 16)
    assert [c.out_channels for c in chain] == [48, 8]
