import copy

import pytest
import torch

from mmyolo.models.layers import SPPFBottleneck
from mmyolo.registry import MODELS
from mmyoloms.models.backbones import YOLOMSBackbone
from mmyoloms.models.layers import MSBlock
from ..helpers import (assert_every_parameter_gets_a_gradient, halved_sizes,
                       norms_in_mode)

XS = dict(deepen_factor=1 / 3, widen_factor=0.4)


@pytest.mark.parametrize('size', [(64, 64), (70, 45), (33, 97)])
def test_output_shapes_any_input_size(size):
    model = YOLOMSBackbone(**XS)
    h, w = size
    outs = model(torch.rand(1, 3, h, w))
    assert len(outs) == 3
    expected_hw = halved_sizes(h, w)
    for out, ch, hw in zip(outs, [128, 256, 512], expected_hw[2:]):
        assert out.shape == (1, ch, *hw)


def test_structure_follows_design():
    model = YOLOMSBackbone(**XS)
    kernels = [m.kernel_sizes for m in model.modules()
               if isinstance(m, MSBlock)]
    assert kernels == [[1, 3, 3], [1, 5, 5], [1, 7, 7], [1, 9, 9]]
    assert isinstance(model.stage4[1], SPPFBottleneck)
    # SPPF keeps its own defaults, as the official release
    assert model.stage4[1].conv1.bn.momentum == 0.03
    assert model.stage4[1].conv1.bn.eps == 0.001
    assert model.stage1[1].in_conv.bn.momentum == 0.1
    assert len(model.stage1[1].mid_convs[1]) == 1
    assert len(YOLOMSBackbone(deepen_factor=2 / 3).stage1[1].mid_convs[1]) \
        == 2


def test_out_indices_and_grads():
    model = YOLOMSBackbone(out_indices=(0, 1, 2, 3, 4), **XS)
    outs = model(torch.rand(2, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [32, 64, 128, 256, 512]
    assert_every_parameter_gets_a_gradient(model, outs)


def test_frozen_stages():
    model = YOLOMSBackbone(frozen_stages=2, **XS)
    model.train()
    for name in ['stem', 'stage1', 'stage2']:
        layer = getattr(model, name)
        assert norms_in_mode(layer, False)
        assert all(not p.requires_grad for p in layer.parameters())
    assert norms_in_mode(model.stage3, True)
    assert all(p.requires_grad for p in model.stage3.parameters())


def test_norm_eval():
    model = YOLOMSBackbone(norm_eval=True, **XS)
    model.train()
    assert norms_in_mode(model, False)
    assert all(p.requires_grad for p in model.parameters())


def test_stage_plugin_lengthens_stage():
    plain = YOLOMSBackbone(**XS)
    plugins = [dict(cfg=dict(type='CBAM'), stages=(False, True, True, True))]
    model = YOLOMSBackbone(plugins=plugins, **XS)
    assert len(plain.stage1) == len(model.stage1)
    assert len(model.stage2) == len(plain.stage2) + 1
    assert len(model.stage4) == len(plain.stage4) + 1
    assert type(model.stage3[-1]).__name__ == 'CBAM'
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [128, 256, 512]
    assert plugins == [dict(cfg=dict(type='CBAM'),
                            stages=(False, True, True, True))]


def test_no_shared_config_mutation():
    norm_cfg = dict(type='BN', momentum=0.01)
    attention_cfg = dict(type='SEAttention')
    block_cfg = dict(type='MSBlock')
    snapshots = copy.deepcopy((norm_cfg, attention_cfg, block_cfg))
    a = YOLOMSBackbone(norm_cfg=norm_cfg, attention_cfg=attention_cfg,
                       block_cfg=block_cfg, **XS)
    b = YOLOMSBackbone(norm_cfg=dict(type='BN', momentum=0.2), **XS)
    assert (norm_cfg, attention_cfg, block_cfg) == snapshots
    assert a.stage1[1].in_conv.bn.momentum == 0.01
    assert b.stage1[1].in_conv.bn.momentum == 0.2
    assert a.stage1[1].attention is not None
    assert b.stage1[1].attention is None
    # defaults of the class are untouched
    c = YOLOMSBackbone(**XS)
    assert c.stage1[1].in_conv.bn.momentum == 0.1
    assert c.stage1[1].attention is None


def test_block_cfg_overrides_stage_defaults():
    model = YOLOMSBackbone(
        block_cfg=dict(type='MSBlock', kernel_sizes=[1, 3, 3, 3],
                       in_expand_ratio=2), **XS)
    assert model.stage4[2].kernel_sizes == [1, 3, 3, 3]
    assert model(torch.rand(1, 3, 64, 64))[-1].shape == (1, 512, 2, 2)


@pytest.mark.parametrize('kwargs,name', [
    (dict(arch='P7'), 'arch'),
    (dict(out_indices=(1, 5)), 'out_indices'),
    (dict(out_indices=()), 'out_indices'),
    (dict(frozen_stages=5), 'frozen_stages'),
    (dict(frozen_stages=-2), 'frozen_stages'),
    (dict(deepen_factor=0.1), 'layers_num'),
    (dict(down_ratio=0), 'down_ratio'),
    (dict(block_cfg=dict(kernel_sizes=[1, 3])), 'type'),
    (dict(spp_cfg=dict(in_channels=8)), 'spp_cfg'),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        YOLOMSBackbone(**kwargs)


def test_build_from_registry_and_init_weights():
    model = MODELS.build(dict(type='YOLOMSBackbone', **XS))
    assert isinstance(model, YOLOMSBackbone)
    model.init_weights()
    w = model.stem[0].conv.weight
    # PyTorch's default conv init: uniform in +-1/sqrt(fan_in)
    bound = 1 / (3 * 3 * 3)**0.5
    assert w.abs().max() <= bound
    assert w.abs().max() > 0.5 * bound


@pytest.mark.parametrize('block', ['MSBlock', 'Res2Block'])
def test_builds_under_mmdet_default_scope(block):
    """An MMDet config (default scope mmdet) names the backbone
    ``mmyolo.YOLOMSBackbone`` and nothing else: the blocks and their SE
    attention, given by short names, still resolve in mmyolo's registry."""
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmengine.registry import DefaultScope
    cfg = dict(
        type='mmyolo.YOLOMSBackbone', arch='C3-K3579', deepen_factor=1 / 3,
        widen_factor=0.25, layers_num=3, out_indices=(2, 3, 4),
        block_cfg=dict(type=block, attention_cfg=dict(type='SEAttention')))
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MMDET_MODELS.build(cfg)
        # a scoped type still wins over the mmyolo default
        with pytest.raises(KeyError, match='NoSuchBlock'):
            MMDET_MODELS.build(
                dict(cfg, block_cfg=dict(type='mmdet.NoSuchBlock')))
    assert isinstance(model, YOLOMSBackbone)
    blocks = [m for m in model.modules() if type(m).__name__ == block]
    assert blocks and all(b.attention is not None for b in blocks)
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [8, 4, 2]


def test_spp_cfg():
    """By default the SPPF keeps its own defaults (official); spp_cfg passes
    the backbone's (or any) conv/norm/act and pooling kernel explicitly."""
    norm_cfg = dict(type='BN', momentum=0.1, eps=1e-5)
    spp_cfg = dict(kernel_sizes=3, norm_cfg=norm_cfg,
                   act_cfg=dict(type='ReLU'))
    snapshot = copy.deepcopy(spp_cfg)
    model = YOLOMSBackbone(**XS, spp_cfg=spp_cfg)
    assert spp_cfg == snapshot
    spp = model.stage4[1]
    assert isinstance(spp, SPPFBottleneck)
    assert spp.poolings.kernel_size == 3
    assert spp.conv1.bn.momentum == 0.1 and spp.conv1.bn.eps == 1e-5
    assert isinstance(spp.conv1.activate, torch.nn.ReLU)
    default = YOLOMSBackbone(**XS).stage4[1]
    assert default.poolings.kernel_size == 5
    assert isinstance(default.conv1.activate, torch.nn.SiLU)


def test_official_type_name_builds_the_same_backbone():
    torch.manual_seed(0)
    ours = MODELS.build(dict(type='YOLOMSBackbone', **XS))
    official = MODELS.build(dict(type='YOLOMS', **XS))
    assert type(official) is YOLOMSBackbone
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in official.state_dict().items()}
