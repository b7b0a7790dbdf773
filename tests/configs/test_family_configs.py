"""YOLOv6-MS-t and YOLOv8-MS-n: our configs build the official release's
models (every state-dict key and shape, parameter count and FLOPs of
tests/data/yolo_ms_family_manifest.json), the official model configs build
the same models, and official-format checkpoints load strictly.

The recipes themselves are compared key by key in test_official_recipes.py.
"""
import json
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config, ConfigDict

from mmyolo.registry import MODELS
from ..conftest import FAMILY_MANIFEST, OFFICIAL_RECIPES, REPO_ROOT

V6 = 'yolov6_ms/yolov6-ms_t_syncbn_fast_8xb32-400e_coco.py'
V6_300E = 'yolov6_ms/yolov6-ms_t_syncbn_fast_8xb32-300e_coco.py'
V8 = 'yolov8_ms/yolov8-ms_n_syncbn_fast_8xb16-500e_coco.py'
# config -> (manifest entry, backbone, neck, head)
FAMILY = {
    V6: (V6, 'YOLOv6MSBackbone', 'YOLOv6MSPAFPN', 'YOLOv6Head'),
    V6_300E: (V6, 'YOLOv6MSBackbone', 'YOLOv6MSPAFPN', 'YOLOv6Head'),
    V8: (V8, 'YOLOv8MSBackbone', 'YOLOv8MSPAFPN', 'YOLOv8Head'),
}

with open(FAMILY_MANIFEST) as f:
    MANIFEST = json.load(f)


def _cfg(name):
    return Config.fromfile(osp.join(REPO_ROOT, 'configs', name))


def _build(name, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(_cfg(name).model)


def _randomize(model, seed=0):
    """Every float tensor of the state dict random (BN variances > 0), so
    that equal outputs mean equal computations, not default values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if not value.dtype.is_floating_point:
                continue
            if key.endswith('running_var'):
                value.copy_(torch.rand(value.shape, generator=generator) +
                            0.5)
            else:
                value.copy_(
                    torch.randn(value.shape, generator=generator) * 0.1)


def _unflatten(flat, prefix):
    """The dict under ``prefix`` of a config flattened to dotted keys
    (``a.b[1].c``, the format of official_recipes.json)."""
    root = {}
    for key, value in flat.items():
        if not key.startswith(prefix + '.'):
            continue
        parts = []
        for segment in key[len(prefix) + 1:].split('.'):
            name, *indices = re.split(r'\[(\d+)\]', segment)
            parts.append(name)
            parts.extend(int(i) for i in indices if i != '')
        node = root
        for part, nxt in zip(parts[:-1], parts[1:]):
            if isinstance(node, dict):
                node = node.setdefault(part,
                                       [] if isinstance(nxt, int) else {})
            else:
                while len(node) <= part:
                    node.append([] if isinstance(nxt, int) else {})
                node = node[part]
        if isinstance(node, dict):
            node[parts[-1]] = value
        else:
            while len(node) <= parts[-1]:
                node.append(None)
            node[parts[-1]] = value
    return root


@pytest.mark.parametrize('name', sorted(FAMILY))
def test_config_builds_the_family_detector(name):
    cfg = _cfg(name)
    assert cfg.custom_imports == dict(imports=['mmyoloms'],
                                      allow_failed_imports=False)
    model = MODELS.build(cfg.model)
    _, backbone, neck, head = FAMILY[name]
    assert type(model.backbone).__name__ == backbone
    assert type(model.neck).__name__ == neck
    assert type(model.bbox_head).__name__ == head
    # no `_scope_` key reaches the collate function
    assert dict(cfg.train_dataloader.collate_fn) == dict(
        type='yolov5_collate')
    # the config survives a dump/reload round trip
    assert Config.fromstring(cfg.pretty_text, '.py').to_dict() == \
        cfg.to_dict()


@pytest.mark.parametrize('name', [V6, V8])
def test_state_dict_keys_and_shapes_equal_the_official_release(name):
    ours = [(k, list(v.shape)) for k, v in _build(name).state_dict().items()]
    assert ours == list(MANIFEST[name]['state_dict'].items())


@pytest.mark.parametrize('name', [V6, V8])
def test_params_and_flops_equal_the_official_release(name):
    """mmengine's count at 640x640 (multiply-accumulates), as the
    manifest's figures were measured."""
    from mmengine.analysis import get_model_complexity_info

    class Network(torch.nn.Module):

        def __init__(self, detector):
            super().__init__()
            self.detector = detector

        def forward(self, images):
            return self.detector._forward(images)

    model = _build(name)
    model.eval()
    assert sum(p.numel() for p in model.parameters()) == \
        MANIFEST[name]['params']
    info = get_model_complexity_info(
        Network(model), inputs=(torch.zeros(1, 3, 640, 640), ),
        show_table=False, show_arch=False)
    assert info['params'] == MANIFEST[name]['params']
    assert info['flops'] == MANIFEST[name]['flops_640']


@pytest.mark.parametrize('name', [V6, V8])
def test_official_model_config_builds_the_same_model(name):
    """The official release's model config (its type names ``YOLOv6MS`` /
    ``YOLOv8MS``, kernels written ``(3, 3)``), read back from
    official_recipes.json, builds our modules with the same weights."""
    with open(OFFICIAL_RECIPES) as f:
        official = _unflatten(json.load(f)[name], 'model')
    assert official['backbone']['type'] in ('YOLOv6MS', 'YOLOv8MS')
    assert official['neck']['kernel_sizes'] == [1, [3, 3], [3, 3]]
    torch.manual_seed(0)
    theirs = MODELS.build(ConfigDict(official)).state_dict()
    ours = _build(name).state_dict()
    assert list(theirs) == list(ours)
    assert all(torch.equal(theirs[k], ours[k]) for k in ours)


@pytest.mark.parametrize('name', [V6, V8])
def test_official_checkpoint_loads_strictly_and_gives_same_outputs(
        name, tmp_path):
    """An official-format checkpoint (weights under ``state_dict``, mmengine
    ``meta`` beside them) loads with strict=True and reproduces outputs of
    backbone, neck and head."""
    from mmengine.runner import load_checkpoint
    source = _build(name, seed=1)
    _randomize(source)
    source.eval()
    path = str(tmp_path / 'official.pth')
    torch.save(
        dict(state_dict=source.state_dict(),
             meta=dict(mmengine_version='0.7.4', epoch=300, iter=0,
                       dataset_meta=dict(classes=tuple(map(str,
                                                           range(80)))))),
        path)
    target = _build(name, seed=2)
    load_checkpoint(target, path, map_location='cpu', strict=True)
    target.eval()
    x = torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        feats_a, feats_b = source.backbone(x), target.backbone(x)
        neck_a, neck_b = source.neck(feats_a), target.neck(feats_b)
        head_a, head_b = source(x), target(x)
    for a, b in zip(feats_a + neck_a, feats_b + neck_b):
        assert torch.equal(a, b)
    for level_a, level_b in zip(head_a, head_b):
        for a, b in zip(level_a, level_b):
            assert torch.equal(a, b)


def test_300e_schedule():
    """300 epochs, the last 15 without Mosaic (validated every epoch),
    cosine to 0.01, EMA momentum 0.0001; the rest is the 400e recipe."""
    cfg, base = _cfg(V6_300E), _cfg(V6)
    assert cfg.train_cfg.max_epochs == 300
    assert cfg.train_cfg.dynamic_intervals == [(285, 1)]
    assert cfg.default_hooks.param_scheduler.max_epochs == 300
    assert cfg.default_hooks.param_scheduler.scheduler_type == 'cosine'
    assert cfg.default_hooks.param_scheduler.lr_factor == 0.01
    ema, switch = cfg.custom_hooks
    assert ema.type == 'EMAHook' and ema.momentum == 0.0001
    assert switch.type == 'mmdet.PipelineSwitchHook'
    assert switch.switch_epoch == 285
    assert switch.switch_pipeline == base.train_pipeline_stage2
    assert 'Mosaic' not in [t.type for t in switch.switch_pipeline]
    assert cfg.model == base.model
    assert cfg.train_dataloader == base.train_dataloader
    assert cfg.optim_wrapper == base.optim_wrapper


def _strip(value, drop=('_scope_', '_delete_')):
    """A config value without merge/scope markers (plain dicts/lists)."""
    if isinstance(value, dict):
        return {k: _strip(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, (list, tuple)):
        return [_strip(v, drop) for v in value]
    return value


def test_shapes_config_is_the_coco_model_on_the_xs_shapes_schedule():
    """configs/shapes/yolov8-ms_n...: YOLOv8-MS-n with 5 classes on exactly
    the data, schedule, optimizer and hooks of the YOLO-MS-XS shapes
    config."""
    shapes_dir = osp.join(REPO_ROOT, 'configs', 'shapes')
    cfg = Config.fromfile(
        osp.join(shapes_dir, 'yolov8-ms_n_fast_1xb8-10e_shapes.py'))
    xs = Config.fromfile(
        osp.join(shapes_dir, 'yoloms-xs_fast_1xb8-10e_shapes.py'))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'test_evaluator', 'param_scheduler',
                'train_cfg', 'val_cfg', 'test_cfg', 'default_hooks',
                'custom_hooks', 'env_cfg', 'model_wrapper_cfg', 'img_scale',
                'optim_wrapper', 'auto_scale_lr'):
        assert cfg[key] == xs[key], key
    # the COCO model but for the class count and plain BN (CPU DDP)
    model = _strip(cfg.model.to_dict())
    assert model.pop('use_syncbn') is False
    assert model['bbox_head']['head_module'].pop('num_classes') == 5
    assert model['train_cfg']['assigner'].pop('num_classes') == 5
    coco = _strip(_cfg(V8).model.to_dict())
    coco['bbox_head']['head_module'].pop('num_classes')
    coco['train_cfg']['assigner'].pop('num_classes')
    assert model == coco
    detector = MODELS.build(cfg.model)
    assert detector.bbox_head.num_classes == 5
    assert Config.fromstring(cfg.pretty_text, '.py').model == cfg.model


def test_yolov8_ms_train_pipeline_runs_with_albumentations(tmp_path):
    """YOLOv8's recipe augments with mmdet's Albu (albumentations, installed
    by setup); the Mosaic-free stage-2 pipeline runs on an image."""
    import mmcv
    import numpy as np
    from mmcv.transforms import Compose

    from mmyolo.registry import TRANSFORMS
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'yolov8_ms',
                 'yolov8-ms_n_syncbn_fast_8xb16-500e_coco.py'))
    pipeline = Compose([TRANSFORMS.build(t) for t in cfg.train_pipeline_stage2])
    assert any(type(t).__name__ == 'Albu' for t in pipeline.transforms)
    image = str(tmp_path / 'image.jpg')
    mmcv.imwrite(np.random.RandomState(0).randint(
        0, 255, (300, 400, 3), dtype=np.uint8), image)
    out = pipeline(dict(
        img_path=image, img_id=0,
        instances=[dict(bbox=[40., 50., 200., 220.], bbox_label=3,
                        ignore_flag=0)]))
    assert tuple(out['inputs'].shape) == (3, 640, 640)
    assert out['data_samples'].gt_instances.labels.tolist() == [3]
