import os
import os.path as osp
import subprocess
import sys

import pytest

from mmyoloms.datasets import generate_shapes_dataset

from ..conftest import REPO_ROOT
from ..shapes_utils import tiny_shapes_config

# The demo config's pipelines at a fixed small scale, no batch shapes.
PIPELINES = '''
_resize = [
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(type='LetterResize', scale=img_scale, allow_scale_up=False,
         pad_val=dict(img=114))
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True), *_resize,
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'), *_resize,
    dict(type='LoadAnnotations', with_bbox=True, _scope_='mmdet'),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor', 'pad_param'))
]
'''

# YOLO-MS-XS trained on the tiny set at 128x128 for 160 iterations of 4
# images (constant lr after a short warm-up, seeded): enough to leave
# scores spread over (0, 1) on the val images.
SHAPE = (128, 128)
TRAIN_OVERRIDES = f'''
img_scale = {SHAPE}
{PIPELINES}
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline,
                 batch_shapes_cfg=None))
test_dataloader = val_dataloader
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20)
]
# the for-loop AdamW (not the demo config's fused one): the INT8 tests
# compare detections of this briefly trained model on one image, and with
# the fused kernel's slightly different rounding the trained model's best
# INT8 box no longer matched a float one (IoU 0.57)
optim_wrapper = dict(optimizer=dict(lr=0.002, fused=None))
auto_scale_lr = dict(enable=False)
custom_hooks = []
randomness = dict(seed=0)
default_hooks = dict(checkpoint=dict(interval=40, save_best=None))
'''

# An easier shapes set that YOLO-MS-XS learns in a few hundred
# iterations, for tests of accuracy (COCO AP) rather than of single
# detections: one class, at most two medium shapes per image, the plainer
# tiles background. Measured (1 thread): AP 0.329 after 600 iterations;
# with two classes (ellipse, rectangle) it reached only 0.16-0.18.
EASY_CLASSES = ('rectangle', )
EASY_SHAPE = (96, 96)
EASY_EPOCHS = 10  # of 60 iterations (480 images, batch 8)
EASY_ITERS = EASY_EPOCHS * 60
EASY_OVERRIDES = f'''
img_scale = {EASY_SHAPE}
metainfo = dict(classes={EASY_CLASSES!r})
{PIPELINES}
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 pipeline=test_pipeline, batch_shapes_cfg=None))
test_dataloader = val_dataloader
model = dict(
    bbox_head=dict(head_module=dict(num_classes={len(EASY_CLASSES)})),
    train_cfg=dict(assigner=dict(num_classes={len(EASY_CLASSES)})))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', eta_min=0.004 * 0.05, by_epoch=False,
         begin=30, end={EASY_ITERS}, T_max={EASY_ITERS - 30})
]
optim_wrapper = dict(optimizer=dict(lr=0.004, fused=None))
auto_scale_lr = dict(enable=False)
custom_hooks = []  # no EMA: it would keep weights near their start
randomness = dict(seed=0)
# one validation, at the end (its AP in the training log)
train_cfg = dict(max_epochs={EASY_EPOCHS}, val_interval={EASY_EPOCHS})
default_hooks = dict(checkpoint=dict(interval={EASY_EPOCHS},
                                     save_best=None))
'''


def _train(config: str, work_dir: str) -> None:
    """tools/train.py on ``config`` in a subprocess, on 2 threads."""
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', work_dir],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200,
        env=dict(os.environ, OMP_NUM_THREADS='2', PYTHONWARNINGS='ignore'))
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope='session')
def trained_shapes(tmp_path_factory):
    """YOLO-MS-XS trained briefly by tools/train.py on a tiny shapes set
    (16 train, 8 val images of 96-128 px): ``dict(config, checkpoint,
    data_root, shape)``."""
    root = tmp_path_factory.mktemp('trained_shapes')
    data_root = str(root / 'data')
    generate_shapes_dataset(data_root, num_train=16, num_val=8, seed=0,
                            img_size_range=(96, 128), max_objects=3,
                            progress=False)
    config = tiny_shapes_config(data_root, str(root / 'config.py'),
                                max_epochs=40, batch_size=4,
                                extra=TRAIN_OVERRIDES)
    work_dir = str(root / 'work')
    _train(config, work_dir)
    checkpoint = osp.join(work_dir, 'epoch_40.pth')
    assert osp.isfile(checkpoint)
    return dict(config=config, checkpoint=checkpoint, data_root=data_root,
                shape=SHAPE)


@pytest.fixture(scope='session')
def easy_shapes(tmp_path_factory):
    """YOLO-MS-XS trained by tools/train.py for 600 iterations of 8 images
    at 96x96 on the easier shapes set (480 train, 64 val images of 96-128
    px): ``dict(config, checkpoint, data_root, shape)``."""
    root = tmp_path_factory.mktemp('easy_shapes')
    data_root = str(root / 'data')
    generate_shapes_dataset(data_root, num_train=480, num_val=64, seed=0,
                            img_size_range=(96, 128), max_objects=2,
                            size_probs=(0, 1, 0), classes=EASY_CLASSES,
                            background='tiles', progress=False)
    config = tiny_shapes_config(data_root, str(root / 'config.py'),
                                max_epochs=EASY_EPOCHS, batch_size=8,
                                extra=EASY_OVERRIDES)
    work_dir = str(root / 'work')
    _train(config, work_dir)
    checkpoint = osp.join(work_dir, f'epoch_{EASY_EPOCHS}.pth')
    assert osp.isfile(checkpoint)
    return dict(config=config, checkpoint=checkpoint, data_root=data_root,
                shape=EASY_SHAPE)
