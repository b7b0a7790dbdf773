"""Every ablation config (configs/yoloms/ablations, configs/mmdet) loads,
builds and runs a CPU forward, changes what its name says, and the mmdet
ones reproduce the papers' parameter budgets."""
import functools
import glob
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.utils import get_installed_path

from mmyoloms.models.layers import MSBlock, PSConv2d, Res2Block
from mmyoloms.models.necks import SMSL, YOLOMSPAFPN
from mmyoloms.models.plugins import MSFM

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
YOLOMS_DIR = osp.join(REPO, 'configs', 'yoloms', 'ablations')
MMDET_DIR = osp.join(REPO, 'configs', 'mmdet')
YOLOMS_CONFIGS = sorted(
    osp.basename(p) for p in glob.glob(osp.join(YOLOMS_DIR, '*.py')))
MMDET_CONFIGS = sorted(
    osp.basename(p) for p in glob.glob(osp.join(MMDET_DIR, '*.py')))
XS_BASE = osp.join(REPO, 'configs', 'yoloms',
                   'yoloms-xs_syncbn_fast_8xb8-300e_coco.py')
FASTER = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
RETINA = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
MASK = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
CUSTOM_IMPORTS = dict(imports=['mmyoloms'], allow_failed_imports=False)


def _build(path):
    if '::' in path:  # a base config of an installed package
        package, relative = path.split('::')
        path = osp.join(get_installed_path(package), '.mim', 'configs',
                        relative)
    cfg = Config.fromfile(path)
    scope = cfg.get('default_scope', 'mmdet')
    if scope == 'mmdet':
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
        register_all_modules(init_default_scope=False)
    else:
        from mmyolo.registry import MODELS
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    return cfg, model.eval()


@functools.lru_cache(maxsize=None)
def _num_params(path):
    _, model = _build(path)
    return sum(p.numel() for p in model.parameters())


@functools.lru_cache(maxsize=None)
def _xs_head_shapes():
    _, model = _build(XS_BASE)
    return {k: v.shape for k, v in model.bbox_head.state_dict().items()}


def _blocks(module):
    return [m for m in module.modules() if isinstance(m, (MSBlock, Res2Block))]


def _stage_blocks(backbone):
    return [_blocks(getattr(backbone, f'stage{i}'))[0] for i in range(1, 5)]


def _kernels(*kernels):
    return lambda model: [b.kernel_sizes for b in _stage_blocks(
        model.backbone)] == [[1, k, k] for k in kernels]


def _branch_count(n):

    def check(model):
        blocks = _blocks(model.backbone) + _blocks(model.neck)
        return len(blocks) == 8 and all(
            len(b.kernel_sizes) == n for b in blocks)

    return check


def _res2block(model):
    blocks = _blocks(model.backbone) + _blocks(model.neck)
    return len(blocks) == 8 and all(
        isinstance(b, Res2Block) and b.kernel_sizes == [1, 3, 3]
        and all(len(branch) == 1 and branch[0].conv.kernel_size == (3, 3)
                for branch in b.mid_convs[1:]) for b in blocks)


def _psconv(model):
    depthwise = [
        layer.mid_conv.conv for b in _stage_blocks(model.backbone)
        for branch in b.mid_convs[1:] for layer in branch
    ]
    stem = [m for m in model.backbone.stem.modules()
            if isinstance(m, nn.Conv2d)]
    return (len(depthwise) == 8 and all(
        isinstance(c, PSConv2d) and c.kernel_size == (3, 3)
        and c.groups == c.in_channels for c in depthwise)
            and not any(isinstance(c, PSConv2d) for c in stem)
            and not any(isinstance(m, PSConv2d)
                        for m in model.neck.modules()))


def _msfm(model):
    stages = [getattr(model.backbone, f'stage{i}') for i in range(1, 5)]
    return (not any(isinstance(m, MSFM) for m in stages[0])
            and all(isinstance(s[-1], MSFM) for s in stages[1:])
            and [s[-1].squeeze.out_channels for s in stages[1:]] == [32] * 3)


def _smsl(model):
    return (isinstance(model.neck, nn.Sequential)
            and isinstance(model.neck[0], YOLOMSPAFPN)
            and isinstance(model.neck[1], SMSL))


# What each YOLO-MS ablation changes, checked on the built model
YOLOMS_CHANGES = {
    'yoloms-xs-k3333_syncbn_fast_8xb8-300e_coco.py': _kernels(3, 3, 3, 3),
    'yoloms-xs-k5555_syncbn_fast_8xb8-300e_coco.py': _kernels(5, 5, 5, 5),
    'yoloms-xs-k7777_syncbn_fast_8xb8-300e_coco.py': _kernels(7, 7, 7, 7),
    'yoloms-xs-k9999_syncbn_fast_8xb8-300e_coco.py': _kernels(9, 9, 9, 9),
    'yoloms-xs-k3579_syncbn_fast_8xb8-300e_coco.py': _kernels(3, 5, 7, 9),
    'yoloms-xs-k9753_syncbn_fast_8xb8-300e_coco.py': _kernels(9, 7, 5, 3),
    'yoloms-xs-b2_syncbn_fast_8xb8-300e_coco.py': _branch_count(2),
    'yoloms-xs-b4_syncbn_fast_8xb8-300e_coco.py': _branch_count(4),
    'yoloms-xs-res2block_syncbn_fast_8xb8-300e_coco.py': _res2block,
    'yoloms-xs-psconv_syncbn_fast_8xb8-300e_coco.py': _psconv,
    'yoloms-xs-msfm_syncbn_fast_8xb8-300e_coco.py': _msfm,
    'yoloms-xs-smsl_syncbn_fast_8xb8-300e_coco.py': _smsl,
}


def test_every_yoloms_ablation_is_checked():
    assert sorted(YOLOMS_CHANGES) == YOLOMS_CONFIGS


@pytest.mark.parametrize('name', YOLOMS_CONFIGS)
def test_yoloms_ablation_builds_runs_and_changes_one_thing(name):
    path = osp.join(YOLOMS_DIR, name)
    with open(path) as f:
        assert "_base_ = '../yoloms-xs_syncbn_fast_8xb8-300e_coco.py'" in \
            f.read()
    cfg, model = _build(path)
    assert cfg.custom_imports == CUSTOM_IMPORTS
    assert YOLOMS_CHANGES[name](model)
    # the head is the XS one in every ablation
    assert {k: v.shape for k, v in model.bbox_head.state_dict().items()
            } == _xs_head_shapes()
    with torch.no_grad():
        cls_scores, bbox_preds = model(torch.rand(1, 3, 64, 64))
    assert [s.shape for s in cls_scores] == [(1, 80, 8, 8), (1, 80, 4, 4),
                                             (1, 80, 2, 2)]
    assert [b.shape[1] for b in bbox_preds] == [4, 4, 4]


def _mmdet_forward(model):
    # 96 px: res5 is 3x3, so MSFM's 0.5 branch keeps 2x2 pixels, which
    # GroupNorm with one channel per group needs
    from mmdet.structures import DetDataSample
    data = dict(
        inputs=[torch.randint(0, 256, (3, 96, 96), dtype=torch.uint8)],
        data_samples=[
            DetDataSample(
                metainfo=dict(
                    img_shape=(96, 96),
                    ori_shape=(96, 96),
                    scale_factor=(1.0, 1.0)))
        ])
    with torch.no_grad():
        data = model.data_preprocessor(data, False)
        return model(**data, mode='tensor')


MMDET_BASES = {
    'faster-rcnn_r50-msfm_fpn_1x_coco.py': FASTER,
    'faster-rcnn_r50-msfm-c23_fpn_1x_coco.py': FASTER,
    'retinanet_r50-msfm-c23_fpn_1x_coco.py': RETINA,
    'retinanet_r50_fpn-smsl_1x_coco.py': RETINA,
    'faster-rcnn_r50-ps_fpn_1x_coco.py': FASTER,
    'mask-rcnn_r50-ps_fpn_1x_coco.py': MASK,
    'faster-rcnn_yoloms-s_fpn_1x_coco.py': FASTER,
    'retinanet_yoloms-s_fpn_1x_coco.py': RETINA,
}


def test_every_mmdet_config_is_checked():
    assert sorted(MMDET_BASES) == MMDET_CONFIGS


@pytest.mark.parametrize('name', MMDET_CONFIGS)
def test_mmdet_config_builds_and_runs(name):
    path = osp.join(MMDET_DIR, name)
    with open(path) as f:
        text = f.read()
    # the mmdet base, alone or first before a shared _base_/ fragment
    fragment = f"_base_ = [\n    '{MMDET_BASES[name]}',\n    './_base_/"
    assert f"_base_ = '{MMDET_BASES[name]}'" in text or fragment in text
    cfg, model = _build(path)
    assert cfg.custom_imports == CUSTOM_IMPORTS
    if 'msfm' in name:
        msfms = [m for m in model.backbone.modules() if isinstance(m, MSFM)]
        # one (default) or two (c23) per bottleneck of res3-res5
        assert len(msfms) == (26 if 'c23' in name else 13)
    if '-ps_' in name:
        layers = [model.backbone.layer1, model.backbone.layer2,
                  model.backbone.layer3, model.backbone.layer4]
        assert all(isinstance(b.conv2, PSConv2d)
                   for layer in layers for b in layer)
    if 'smsl' in name:
        assert isinstance(model.neck[1], SMSL)
    if 'yoloms' in name:
        assert type(model.backbone).__name__ == 'YOLOMSBackbone'
        assert all(isinstance(b, MSBlock) for b in _blocks(model.backbone))
    outs = _mmdet_forward(model)
    assert isinstance(outs, tuple) and len(outs) > 0


@pytest.mark.parametrize('name, base, delta, tol', [
    # MSFM default (paper 001, Table 2: 41.5 M -> 42.9 M)
    ('faster-rcnn_r50-msfm_fpn_1x_coco.py', FASTER, 1.4e6, 0.15e6),
    # MSFM multi-position (Tables 3-4: 41.5 M -> 43.9 M, 37.7 M -> 40.1 M)
    ('faster-rcnn_r50-msfm-c23_fpn_1x_coco.py', FASTER, 2.4e6, 0.15e6),
    ('retinanet_r50-msfm-c23_fpn_1x_coco.py', RETINA, 2.4e6, 0.15e6),
    # SMSL (paper 003, Table 2: 37.74 M -> 38.72 M)
    ('retinanet_r50_fpn-smsl_1x_coco.py', RETINA, 0.98e6, 0.05e6),
])
def test_paper_parameter_budgets(name, base, delta, tol):
    measured = _num_params(osp.join(MMDET_DIR, name)) - _num_params(base)
    assert abs(measured - delta) <= tol, (name, measured)


@pytest.mark.parametrize('name, base', [
    ('faster-rcnn_r50-ps_fpn_1x_coco.py', FASTER),
    ('mask-rcnn_r50-ps_fpn_1x_coco.py', MASK),
])
def test_ps_resnet50_has_exactly_resnet50_parameters(name, base):
    _, ps = _build(osp.join(MMDET_DIR, name))
    _, vanilla = _build(base)
    assert [(n, p.shape) for n, p in ps.backbone.named_parameters()] == \
        [(n, p.shape) for n, p in vanilla.backbone.named_parameters()]
    assert sum(p.numel() for p in ps.parameters()) == \
        sum(p.numel() for p in vanilla.parameters())


@pytest.mark.parametrize('name', YOLOMS_CONFIGS)
def test_yoloms_ablations_keep_the_official_lr_scaling(name):
    """Ablations of the COCO recipe train as it does: 0.004 x batch / 256,
    0.001 on 8 GPUs x 8 images."""
    from .helpers import effective_lr
    cfg = Config.fromfile(osp.join(YOLOMS_DIR, name))
    assert effective_lr(cfg, world_size=8) == pytest.approx(0.001)
