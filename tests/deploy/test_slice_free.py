import copy

import onnx
import pytest
import torch
import torch.nn as nn

from mmyoloms.deploy import (End2EndDetector, SliceFreeSplitBlock,
                             build_detector, deploy_model, export_onnx,
                             fold_batch_norms, nms_settings,
                             remove_channel_slicing)
from mmyoloms.models.layers import MSBlock, PSConv2d, Res2Block

from .helpers import XS_CONFIG, randomize_batch_norms


def _outputs(model, x):
    with torch.no_grad():
        cls_scores, bbox_preds = model._forward(x)
    return list(cls_scores) + list(bbox_preds)


def _count(model, cls):
    return sum(isinstance(m, cls) for m in model.modules())


@pytest.fixture(scope='module')
def xs():
    model = build_detector(XS_CONFIG)
    randomize_batch_norms(model)
    return model


def test_slice_free_detector_equals_eager_in_float64(xs):
    eager = copy.deepcopy(xs).double()
    blocks = _count(eager, MSBlock)
    assert blocks == 8  # 4 backbone stages + 4 neck blocks
    deployed = deploy_model(copy.deepcopy(eager), channels_last=False)
    assert _count(deployed, MSBlock) == 0
    assert _count(deployed, SliceFreeSplitBlock) == blocks
    block = deployed.backbone.stage1[1]
    assert [c.conv.out_channels for c in block.in_convs] == [32, 32, 32]
    x = torch.randn(1, 3, 96, 128, dtype=torch.float64)
    for a, b in zip(_outputs(eager, x), _outputs(deployed, x)):
        assert a.shape == b.shape
        assert (a - b).abs().max().item() < 1e-9


def test_slice_free_graph_has_no_slice_nodes(xs, tmp_path):
    ops = {}
    for slice_free in (True, False):
        deployed = deploy_model(copy.deepcopy(xs), channels_last=False,
                                slice_free=slice_free)
        net = End2EndDetector(deployed,
                              **nms_settings(xs.bbox_head.test_cfg),
                              with_nms=False)
        out = export_onnx(net, str(tmp_path / f'net_{slice_free}.onnx'),
                          (64, 64))
        ops[slice_free] = [n.op_type for n in onnx.load(out).graph.node]
    sliced = ('Slice', 'Split')
    # the network graph (backbone, neck, head) slices nothing any more ...
    assert not [op for op in ops[True] if op in sliced]
    # ... where the MS-Blocks sliced before
    assert len([op for op in ops[False] if op in sliced]) >= 8
    assert ops[True].count('Conv') > ops[False].count('Conv')


@pytest.mark.parametrize('kernel_sizes', [(1, 3, 3), (3, 1, 5), (1, 1, 3)])
def test_res2block_slice_free_equals_eager(kernel_sizes):
    block = Res2Block(16, 24, kernel_sizes=kernel_sizes, in_expand_ratio=1.5)
    randomize_batch_norms(block)
    block = block.double().eval()
    x = torch.randn(2, 16, 12, 10, dtype=torch.float64)
    with torch.no_grad():
        expected = block(x)
        fold_batch_norms(block)
        got = SliceFreeSplitBlock.from_block(block)(x)
    assert (expected - got).abs().max().item() < 1e-9


def test_ms_block_with_attention_equals_eager():
    block = MSBlock(12, 20, kernel_sizes=(1, 5, 3), layers_num=2,
                    attention_cfg=dict(type='SEAttention'))
    randomize_batch_norms(block)
    block = block.double().eval()
    x = torch.randn(1, 12, 9, 11, dtype=torch.float64)
    with torch.no_grad():
        expected = block(x)
        fold_batch_norms(block)
        parent = nn.Sequential(block)
        assert remove_channel_slicing(parent) == 1
        assert isinstance(parent[0].attention, type(block.attention))
        got = parent(x)
    assert (expected - got).abs().max().item() < 1e-9


def test_unfolded_or_unsupported_blocks_are_refused():
    block = MSBlock(8, 8, kernel_sizes=(1, 3), layers_num=1).eval()
    with pytest.raises(ValueError, match='fold the BatchNorms first'):
        SliceFreeSplitBlock.from_block(block)

    class OwnForward(MSBlock):

        def forward(self, x):
            return super().forward(x) * 2

    other = OwnForward(8, 8, kernel_sizes=(1, 3), layers_num=1).eval()
    fold_batch_norms(other)
    with pytest.raises(TypeError, match='has its own forward'):
        SliceFreeSplitBlock.from_block(other)
    with pytest.raises(ValueError, match='first branch'):
        SliceFreeSplitBlock([nn.Identity()], [nn.Identity()], [True],
                            nn.Identity())


def test_block_with_custom_in_conv_is_left_sliced_and_exact():
    # a PSConv2d in_conv computes something else than nn.Conv2d in
    # general: the rewrite refuses it, deploy mode keeps the block as is
    block = MSBlock(8, 8, kernel_sizes=(1, 3), layers_num=1,
                    conv_cfg=dict(type='PSConv2d')).eval()
    assert isinstance(block.in_conv.conv, PSConv2d)
    fold_batch_norms(block)
    with pytest.raises(TypeError, match='plain nn.Conv2d'):
        SliceFreeSplitBlock.from_block(block)
    parent = nn.Sequential(block)
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        expected = parent(x)
        assert remove_channel_slicing(parent) == 0
        assert parent[0] is block
        assert torch.equal(parent(x), expected)
