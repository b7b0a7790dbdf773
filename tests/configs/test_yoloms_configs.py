import glob
import inspect
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import FUNCTIONS

from mmyolo.registry import MODELS
from ..conftest import MANIFEST, REPO_ROOT

# figures of the official release (DESIGN.md), 80 classes
YOLOMS = {
    'yoloms-xs': 4_493_932,
    'yoloms-xs-se': 4_537_452,
    'yoloms-s': 8_052_462,
    'yoloms-s-se': 8_130_678,
    'yoloms': 21_992_412,
    'yoloms-se': 22_166_492,
}


def _config_path(name):
    return osp.join(REPO_ROOT, 'configs', 'yoloms',
                    f'{name}_syncbn_fast_8xb8-300e_coco.py')


def _build(name):
    cfg = Config.fromfile(_config_path(name))
    return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize('name', sorted(YOLOMS))
def test_detector_config(name):
    cfg, model = _build(name)
    assert cfg.custom_imports == dict(imports=['mmyoloms'],
                                      allow_failed_imports=False)
    assert type(model.backbone).__name__ == 'YOLOMSBackbone'
    assert type(model.neck).__name__ == 'YOLOMSPAFPN'
    assert type(model.bbox_head).__name__ == 'RTMDetHead'
    assert cfg.train_dataloader.batch_size == 8
    # the runner calls the collate function with the config's other keys
    collate_cfg = dict(cfg.train_dataloader.collate_fn)
    collate_fn = FUNCTIONS.get(collate_cfg.pop('type'))
    assert set(collate_cfg) <= set(
        inspect.signature(collate_fn).parameters), collate_cfg
    assert cfg.model.bbox_head.loss_bbox.type == 'mmdet.DIoULoss'
    assert cfg.model.bbox_head.loss_bbox.loss_weight == 2.0
    assert cfg.model.bbox_head.head_module.act_cfg.type == 'LeakyReLU'
    assert (cfg.model.backbone.get('attention_cfg') is not None) == \
        name.endswith('-se')
    assert sum(p.numel() for p in model.parameters()) == YOLOMS[name]
    # the config survives a dump/reload round trip
    assert Config.fromstring(cfg.pretty_text, '.py').model == cfg.model


@pytest.mark.parametrize('name', sorted(YOLOMS))
def test_state_dict_matches_official_release(name):
    with open(MANIFEST) as f:
        manifest = json.load(f)[name]
    _, model = _build(name)
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert ours == manifest


def test_official_checkpoint_loads_strictly_and_gives_same_outputs(tmp_path):
    """An official-format checkpoint (weights under ``state_dict``, mmengine
    ``meta`` beside them) loads with strict=True and reproduces outputs."""
    from mmengine.runner import load_checkpoint
    _, source = _build('yoloms-xs')
    source.eval()
    for m in source.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    path = str(tmp_path / 'yoloms-xs_official.pth')
    torch.save(
        dict(state_dict=source.state_dict(),
             meta=dict(mmengine_version='0.7.4', epoch=300, iter=0,
                       dataset_meta=dict(classes=tuple(map(str,
                                                           range(80)))))),
        path)
    _, target = _build('yoloms-xs')
    load_checkpoint(target, path, map_location='cpu', strict=True)
    target.eval()
    x = torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        for a, b in zip(source(x), target(x)):
            for ta, tb in zip(a, b):
                assert torch.equal(ta, tb)


def test_every_config_loads_and_builds():
    # runnable configs: not the `_base_/` fragments (they only add names
    # for the configs beside them) nor the sweep files (a list of runs,
    # each built in test_sweep_configs.py)
    paths = sorted(
        p for p in glob.glob(
            osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
        if osp.sep + '_base_' + osp.sep not in p
        and osp.sep + 'sweeps' + osp.sep not in p)
    assert len(paths) >= 6
    for path in paths:
        cfg = Config.fromfile(path)
        scope = cfg.get('default_scope', 'mmyolo')
        if scope == 'mmdet':
            from mmdet.registry import MODELS as DET_MODELS
            from mmengine.registry import DefaultScope
            with DefaultScope.overwrite_default_scope('mmdet'):
                model = DET_MODELS.build(cfg.model)
        else:
            model = MODELS.build(cfg.model)
        assert isinstance(model, torch.nn.Module), path
