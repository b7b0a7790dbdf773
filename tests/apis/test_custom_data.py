"""make_custom_config / tools/make_custom_config.py: a training config for a
COCO-format dataset from any model config of the package."""
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from mmyoloms.apis.custom_data import (FINETUNE_EPOCHS, find_num_classes,
                                       make_custom_config)
from mmyoloms.datasets import TRANSFER_CLASSES, generate_shapes_dataset
from mmyoloms.engine import rescale_schedule
from ..conftest import REPO_ROOT

YOLOMS_XS = osp.join(REPO_ROOT, 'configs', 'yoloms',
                     'yoloms-xs_syncbn_fast_8xb8-300e_coco.py')
YOLOV6_MS = osp.join(REPO_ROOT, 'configs', 'yolov6_ms',
                     'yolov6-ms_t_syncbn_fast_8xb32-400e_coco.py')
YOLOV8_MS = osp.join(REPO_ROOT, 'configs', 'yolov8_ms',
                     'yolov8-ms_n_syncbn_fast_8xb16-500e_coco.py')
SHAPES_XS = osp.join(REPO_ROOT, 'configs', 'shapes',
                     'yoloms-xs_fast_1xb8-10e_shapes.py')
RTMDET_TINY = osp.join(REPO_ROOT, 'configs', 'shapes',
                       'rtmdet-tiny_fast_1xb8-10e_shapes.py')
MMYOLO_RTMDET = 'mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py'


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    """A 3-class COCO-format set in the tool's default layout."""
    root = str(tmp_path_factory.mktemp('three') / 'set')
    generate_shapes_dataset(root, num_train=6, num_val=3,
                            img_size_range=(64, 96), max_objects=3,
                            classes=TRANSFER_CLASSES, background='tiles',
                            progress=False)
    return root


def _copy_set(src, dst, edit=None, split='train'):
    """A copy of the set at ``src`` (images linked) with ``edit`` applied
    to the ``split`` annotation file."""
    os.makedirs(osp.join(dst, 'annotations'))
    for name in ('train', 'val'):
        os.symlink(osp.join(src, name), osp.join(dst, name))
        with open(osp.join(src, 'annotations',
                           f'instances_{name}.json')) as f:
            data = json.load(f)
        if edit is not None and name == split:
            edit(data)
        with open(osp.join(dst, 'annotations', f'instances_{name}.json'),
                  'w') as f:
            json.dump(data, f)
    return dst


def _write(made, path):
    with open(path, 'w') as f:
        f.write(made.text)
    return Config.fromfile(path)


def _datasets(cfg):
    return [cfg[f'{s}_dataloader'].dataset for s in ('train', 'val', 'test')]


@pytest.mark.parametrize('config', [
    YOLOMS_XS, YOLOV6_MS, YOLOV8_MS, SHAPES_XS, RTMDET_TINY, MMYOLO_RTMDET
])
def test_config_for_every_model(config, data_root, tmp_path):
    out = str(tmp_path / 'my_set' / 'cfg.py')
    made = make_custom_config(config, data_root, out)
    cfg = _write(made, out)
    assert made.classes == TRANSFER_CLASSES
    paths = find_num_classes(cfg)
    assert 'model.bbox_head.head_module.num_classes' in paths
    assert any('assigner' in p for p in paths)
    if config == YOLOV6_MS:  # its warm-up assigner as well
        assert 'model.train_cfg.initial_assigner.num_classes' in paths
    for path in paths:
        node = cfg
        for key in path.split('.'):
            node = node[key]
        assert node == 3, path
    root = data_root.rstrip('/') + '/'
    for dataset, split in zip(_datasets(cfg), ('train', 'val', 'val')):
        assert dataset.data_root == root
        assert dataset.metainfo == dict(classes=TRANSFER_CLASSES)
        assert dataset.ann_file == f'annotations/instances_{split}.json'
        assert dataset.data_prefix.img == f'{split}/'
    for name in ('val_evaluator', 'test_evaluator'):
        assert cfg[name].ann_file == root + 'annotations/instances_val.json'
    assert cfg.custom_imports.imports == ['mmyoloms']
    # it inherits the model config and overrides only what changed
    first = [line for line in made.text.splitlines()
             if not line.startswith('#')][0]
    assert first.startswith('_base_ = ')
    assert 'optim_wrapper' not in made.text
    assert 'data/coco' not in made.text


def test_schedule_rescaled_like_rescale_schedule(data_root, tmp_path):
    out = str(tmp_path / 'cfg.py')
    made = make_custom_config(YOLOMS_XS, data_root, out, epochs=12)
    cfg = _write(made, out)
    # one epoch of this data (6 images, batch 8) is 1 iteration: the
    # 1000-iteration warm-up is cut to it
    expected = rescale_schedule(Config.fromfile(YOLOMS_XS), 12,
                                warmup_iters=1)
    assert cfg.train_cfg == expected.train_cfg
    assert cfg.param_scheduler == expected.param_scheduler
    assert cfg.custom_hooks == expected.custom_hooks
    assert cfg.default_hooks.checkpoint == expected.default_hooks.checkpoint
    assert cfg.max_epochs == 12
    assert cfg.param_scheduler[1].begin == 6
    assert cfg.custom_hooks[1].switch_epoch == 11


def test_finetune_default_epochs(data_root, tmp_path):
    ckpt = str(tmp_path / 'model.pth')
    open(ckpt, 'wb').close()
    made = make_custom_config(YOLOMS_XS, data_root, str(tmp_path / 'a.py'),
                              load_from=ckpt)
    assert made.cfg.train_cfg.max_epochs == FINETUNE_EPOCHS
    assert made.cfg.load_from == ckpt
    # a recipe shorter than the default keeps its own length
    made = make_custom_config(SHAPES_XS, data_root, str(tmp_path / 'b.py'),
                              load_from=ckpt)
    assert made.cfg.train_cfg.max_epochs == 10
    with pytest.raises(FileNotFoundError, match='--load-from'):
        make_custom_config(YOLOMS_XS, data_root, str(tmp_path / 'c.py'),
                           load_from=str(tmp_path / 'missing.pth'))


def test_batch_size_and_lr(data_root, tmp_path):
    made = make_custom_config(YOLOMS_XS, data_root, str(tmp_path / 'a.py'),
                              batch_size=16)
    cfg = _write(made, str(tmp_path / 'a.py'))
    assert cfg.train_dataloader.batch_size == 16
    # auto_scale_lr is enabled: the runner scales the base lr itself
    assert cfg.optim_wrapper.optimizer.lr == 0.004
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=256)
    assert any('0.00025 for 16 images' in n for n in made.notes)
    # YOLOv5-style optimizers scale weight decay from batch_size_per_gpu
    made = make_custom_config(YOLOV8_MS, data_root, str(tmp_path / 'b.py'),
                              batch_size=4)
    assert made.cfg.optim_wrapper.optimizer.batch_size_per_gpu == 4


def test_img_size(data_root, tmp_path):
    made = make_custom_config(YOLOV8_MS, data_root, str(tmp_path / 'a.py'),
                              img_size=320)
    cfg = _write(made, str(tmp_path / 'a.py'))
    assert cfg.img_scale == (320, 320)
    mosaic, affine = cfg.train_dataloader.dataset.pipeline[2:4]
    assert mosaic.img_scale == (320, 320)
    assert affine.border == (-160, -160)
    assert cfg.custom_hooks[1].switch_pipeline[2].scale == (320, 320)
    assert cfg.val_dataloader.dataset.pipeline[1].scale == (320, 320)
    # the shapes config (256) keeps the COCO values it never uses (640)
    made = make_custom_config(SHAPES_XS, data_root, str(tmp_path / 'b.py'),
                              img_size=128)
    assert made.cfg.train_dataloader.dataset.pipeline[2].scale == (128, 128)
    assert made.cfg.train_pipeline_stage2[2].scale == (640, 640)
    with pytest.raises(ValueError, match='multiple of 32'):
        make_custom_config(SHAPES_XS, data_root, str(tmp_path / 'c.py'),
                           img_size=100)


def test_non_contiguous_and_unordered_ids(data_root, tmp_path):
    """Labels follow the file's categories list whatever the ids; the
    tool names classes in that order and says how ids map, and mmdet's
    dataset built from the written config maps them the same way."""
    from mmyolo.registry import DATASETS
    new_id = {1: 9, 2: 5, 3: 2}

    def remap(data):
        for cat in data['categories']:
            cat['id'] = new_id[cat['id']]
        for ann in data['annotations']:
            ann['category_id'] = new_id[ann['category_id']]
        # listed out of id order: crescent (2) after arrow (5)...
        data['categories'] = data['categories'][::-1]

    root = str(tmp_path / 'ids')
    _copy_set(data_root, root, remap, 'train')
    for split in ('val', ):
        path = osp.join(root, 'annotations', f'instances_{split}.json')
        with open(path) as f:
            data = json.load(f)
        remap(data)
        os.remove(path)
        with open(path, 'w') as f:
            json.dump(data, f)
    made = make_custom_config(SHAPES_XS, root, str(tmp_path / 'a.py'))
    assert made.classes == ('crescent', 'arrow', 'hexagon')
    assert any('not contiguous' in n for n in made.notes)
    assert 'label 0 = id 2 "crescent"' in made.notes[0]
    dataset = DATASETS.build(made.cfg.train_dataloader.dataset)
    assert dataset.cat_ids == [2, 5, 9]
    with open(osp.join(root, 'annotations', 'instances_train.json')) as f:
        names = {c['id']: c['name'] for c in json.load(f)['categories']}
    # label l of every box is named classes[l]
    assert {names[i]: made.classes[label]
            for i, label in dataset.cat2label.items()} == {
                n: n for n in TRANSFER_CLASSES}


def _bad(data_root, tmp_path, edit, split='train', **kwargs):
    root = _copy_set(data_root, str(tmp_path / 'bad'), edit, split)
    return make_custom_config(SHAPES_XS, root, str(tmp_path / 'cfg.py'),
                              **kwargs)


def test_errors_name_the_file_and_the_fix(data_root, tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r'instances_training\.json.*--train-ann'):
        make_custom_config(SHAPES_XS, data_root, str(tmp_path / 'a.py'),
                           train_ann='annotations/instances_training.json')
    with pytest.raises(FileNotFoundError, match=r'not under .*--val-img'):
        make_custom_config(SHAPES_XS, data_root, str(tmp_path / 'a.py'),
                           val_img='train2017/')
    with pytest.raises(FileNotFoundError, match='data root'):
        make_custom_config(SHAPES_XS, str(tmp_path / 'nowhere'),
                           str(tmp_path / 'a.py'))


@pytest.mark.parametrize('edit,split,match', [
    (lambda d: d.update(categories=[], annotations=[]), 'train',
     'lists no categories'),
    (lambda d: d.update(images=[], annotations=[]), 'train',
     'lists no images'),
    (lambda d: d.update(annotations=[]), 'train', 'holds no annotations'),
    (lambda d: d['categories'].__setitem__(
        1, dict(d['categories'][1], name='hexagon')), 'train',
     'repeated'),
    (lambda d: d['categories'].reverse(), 'val', 'same order'),
    (lambda d: d['images'].append(dict(
        id=999, file_name='gone.jpg', width=64, height=64)), 'train',
     r'1 of the 7 images .*gone\.jpg'),
])
def test_bad_annotations(data_root, tmp_path, edit, split, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        _bad(data_root, tmp_path, edit, split)


def test_tool(data_root, tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'make_custom_config_tool',
        osp.join(REPO_ROOT, 'tools', 'make_custom_config.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = str(tmp_path / 'configs' / 'my_set' / 'yoloms-xs_my_set.py')
    tool.main([YOLOMS_XS, '--data-root', data_root, '--out', out,
               '--epochs', '3'])
    cfg = Config.fromfile(out)
    assert cfg.train_cfg.max_epochs == 3
    with pytest.raises(SystemExit, match='exists'):
        tool.main([YOLOMS_XS, '--data-root', data_root, '--out', out])
    with pytest.raises(SystemExit, match='--train-ann'):
        tool.main([YOLOMS_XS, '--data-root', data_root, '--out', out,
                   '--force', '--train-ann', 'missing.json'])
