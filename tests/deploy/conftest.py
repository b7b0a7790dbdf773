import os
import os.path as osp
import subprocess
import sys

import pytest

from mmyoloms.datasets import generate_shapes_dataset

from ..conftest import REPO_ROOT
from ..shapes_utils import tiny_shapes_config

# YOLO-MS-XS trained on the tiny set at 128x128 for 160 iterations of 4
# images (constant lr after a short warm-up, seeded): enough to leave
# scores spread over (0, 1) on the val images.
SHAPE = (128, 128)
TRAIN_OVERRIDES = f'''
img_scale = {SHAPE}
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
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', work_dir],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200,
        env=dict(os.environ, OMP_NUM_THREADS='2', PYTHONWARNINGS='ignore'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    checkpoint = osp.join(work_dir, 'epoch_40.pth')
    assert osp.isfile(checkpoint)
    return dict(config=config, checkpoint=checkpoint, data_root=data_root,
                shape=SHAPE)
