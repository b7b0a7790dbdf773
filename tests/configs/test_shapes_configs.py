"""The shapes (CPU demo) configs: they load, build their model, and differ
from their COCO parents and from each other only where they should."""
import os.path as osp

import mmyolo
import pytest
from mmengine.config import Config

from mmyolo.registry import MODELS
from ..conftest import REPO_ROOT
from .helpers import effective_lr

SHAPES = osp.join(REPO_ROOT, 'configs', 'shapes')
XS = osp.join(SHAPES, 'yoloms-xs_fast_1xb8-10e_shapes.py')
S = osp.join(SHAPES, 'yoloms-s_fast_1xb8-10e_shapes.py')
RTMDET = osp.join(SHAPES, 'rtmdet-tiny_fast_1xb8-10e_shapes.py')
YOLOV8_MS = osp.join(SHAPES, 'yolov8-ms_n_fast_1xb8-10e_shapes.py')
# the data, pipelines, schedule and runtime every shapes config shares
SHAPES_BASE = osp.join(SHAPES, '_base_', 'shapes_1xb8-10e.py')
COCO = {
    XS: osp.join(REPO_ROOT, 'configs', 'yoloms',
                 'yoloms-xs_syncbn_fast_8xb8-300e_coco.py'),
    S: osp.join(REPO_ROOT, 'configs', 'yoloms',
                'yoloms-s_syncbn_fast_8xb8-300e_coco.py'),
    RTMDET: osp.join(osp.dirname(mmyolo.__file__), '.mim', 'configs',
                     'rtmdet', 'rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py'),
}
# what the data / schedule / runtime of every shapes config must share
SHARED_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader',
               'val_evaluator', 'test_evaluator', 'param_scheduler',
               'train_cfg', 'val_cfg', 'test_cfg', 'default_hooks',
               'custom_hooks', 'env_cfg', 'model_wrapper_cfg', 'img_scale',
               'optim_wrapper', 'auto_scale_lr')


def _holds(value, applied):
    """Whether ``applied`` (a key of a loaded config) is what merging
    ``value`` into a base config gives: every entry of ``value``, and
    nothing else where ``value`` says ``_delete_``."""
    if not isinstance(value, dict):
        return value == applied
    if not isinstance(applied, dict):
        return False
    own = {k: v for k, v in value.items() if k != '_delete_'}
    if value.get('_delete_') and set(applied) != set(own):
        return False
    return all(k in applied and _holds(v, applied[k]) for k, v in own.items())


def _shapes(state_dict, skip=()):
    return {k: tuple(v.shape) for k, v in state_dict.items()
            if not any(s in k for s in skip)}


@pytest.mark.parametrize('path', [XS, S, RTMDET])
def test_shapes_config_builds_cpu_model(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmyoloms']
    model = MODELS.build(cfg.model)
    assert model.bbox_head.num_classes == 5
    assert cfg.train_dataloader.dataset.type == 'CheckedYOLOv5CocoDataset'
    assert cfg.train_dataloader.num_workers <= 2
    assert cfg.train_dataloader.pin_memory is False
    assert cfg.val_dataloader.pin_memory is False
    # no `_scope_` key reaches the collate function
    assert dict(cfg.train_dataloader.collate_fn) == dict(
        type='yolov5_collate')
    assert cfg.model.use_syncbn is False
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.optim_wrapper.optimizer.lr == 0.004
    # the two measured speed levers (docs/training_speed.md)
    assert cfg.optim_wrapper.type == 'CPUAutocastOptimWrapper'
    assert cfg.optim_wrapper.optimizer.fused is True
    # the config survives a dump/reload round trip
    assert Config.fromstring(cfg.pretty_text, '.py').model == cfg.model


@pytest.mark.parametrize('path', [XS, S, RTMDET, YOLOV8_MS])
def test_shapes_config_applies_the_whole_shapes_base(path):
    """Every key of the shapes base reaches the config as the base states
    it (merged into the COCO config's dicts); the model is the config's."""
    base = Config.fromfile(SHAPES_BASE).to_dict()
    assert 'model' not in base
    cfg = Config.fromfile(path)
    for key, value in base.items():
        assert _holds(value, cfg.get(key)), (path, key)


def test_holds_tells_a_merged_value_from_another():
    assert _holds(dict(a=1), dict(a=1, b=2))
    assert not _holds(dict(a=1), dict(a=2, b=2))
    assert not _holds(dict(_delete_=True, a=1), dict(a=1, b=2))
    assert _holds(dict(_delete_=True, a=1), dict(a=1))
    assert not _holds([dict(a=1)], [dict(a=1, b=2)])


@pytest.mark.parametrize('path', [XS, S, RTMDET])
def test_shapes_base_restates_the_coco_values(path):
    """The shapes base has no base to read them from: its backend_args and
    warm-up start factor must stay those of each model's COCO config, as
    they were when the shapes configs read them from there."""
    base = Config.fromfile(SHAPES_BASE)
    coco = Config.fromfile(COCO[path])
    assert base.backend_args == coco.backend_args
    assert base.lr_start_factor == coco.lr_start_factor


@pytest.mark.parametrize('path', [XS, S, RTMDET])
def test_model_is_the_coco_model_with_five_classes(path):
    shapes = MODELS.build(Config.fromfile(path).model)
    coco_cfg = Config.fromfile(COCO[path])
    coco_cfg.model.backbone.init_cfg = None
    coco = MODELS.build(coco_cfg.model)
    # the per-class layers are the only ones that differ
    skip = ('rtm_cls', )
    assert _shapes(shapes.state_dict(), skip) == _shapes(
        coco.state_dict(), skip)
    cls_shapes = [
        v.shape[0] for k, v in shapes.state_dict().items() if 'rtm_cls' in k
    ]
    assert cls_shapes and set(cls_shapes) == {5}


def test_peer_configs_share_data_and_schedule():
    xs = Config.fromfile(XS)
    for other in (S, RTMDET):
        cfg = Config.fromfile(other)
        for key in SHARED_KEYS:
            assert cfg[key] == xs[key], (other, key)
        assert cfg.optim_wrapper.optimizer == xs.optim_wrapper.optimizer
    rtmdet = Config.fromfile(RTMDET)
    assert rtmdet.model.backbone.type == 'CSPNeXt'
    assert rtmdet.model.backbone.init_cfg is None  # offline: no download


@pytest.mark.parametrize('path', [XS, S, RTMDET])
def test_lr_is_the_configs_own_at_one_process(path):
    """The COCO recipes scale lr from a total batch of 256; a shapes config
    sets its lr for its own batch on one process, and scales from there."""
    cfg = Config.fromfile(path)
    lr = cfg.optim_wrapper.optimizer.lr
    assert effective_lr(cfg, world_size=1) == pytest.approx(lr)
    assert effective_lr(cfg, world_size=2) == pytest.approx(2 * lr)


def test_speed_lever_runs_change_one_thing_each():
    """configs/shapes/sweeps/speed_levers.py (tools/profile_train.py
    compares its runs): every run builds, and differs from the reference
    only in what it is named after."""
    from mmyoloms.sweep import load_sweep_file
    runs = load_sweep_file(osp.join(SHAPES, 'sweeps', 'speed_levers.py'))
    assert runs[0].name == 'reference' and not runs[0].overrides
    reference = runs[0].build_config()
    for run in runs[1:]:
        cfg = run.build_config()
        changed = {k for k in set(cfg) | set(reference)
                   if cfg.get(k) != reference.get(k)}
        assert changed == set(run.overrides), run.name
        if 'custom_hooks' in changed:
            # the base's hooks are kept, one is added
            assert cfg.custom_hooks[:-1] == reference.custom_hooks
            assert cfg.custom_hooks[-1].type == 'MemoryFormatHook'
        MODELS.build(cfg.model)
