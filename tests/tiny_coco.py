"""A tiny COCO-format dataset and a CPU training config for end-to-end tests."""
import json
import os
import os.path as osp

import numpy as np

CLASSES = ('square', 'bar')


def make_tiny_coco(root: str, num_images: int = 6, size: int = 96,
                   seed: int = 0) -> str:
    """Write ``num_images`` images with filled rectangles and a COCO json
    (same file for train and val) under ``root``; return ``root``."""
    import cv2
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    images, annotations = [], []
    for img_id in range(1, num_images + 1):
        img = np.full((size, size, 3), 40, np.uint8)
        for _ in range(2):
            label = int(rng.integers(len(CLASSES)))
            w = int(rng.integers(size // 6, size // 2))
            h = w if label == 0 else max(4, w // 3)
            x = int(rng.integers(0, size - w))
            y = int(rng.integers(0, size - h))
            color = [int(c) for c in rng.integers(80, 255, 3)]
            cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), color, -1)
            annotations.append(
                dict(id=len(annotations) + 1, image_id=img_id,
                     category_id=label + 1, bbox=[x, y, w, h], area=w * h,
                     iscrowd=0))
        name = f'{img_id:04d}.png'
        cv2.imwrite(osp.join(root, 'images', name), img)
        images.append(dict(id=img_id, file_name=name, width=size,
                           height=size))
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=n)
                            for i, n in enumerate(CLASSES)])
    with open(osp.join(root, 'ann.json'), 'w') as f:
        json.dump(coco, f)
    return root


def tiny_train_config(data_root: str, work_dir: str, max_iters: int = 2,
                      img_size: int = 64,
                      base: str = 'configs/yoloms/'
                      'yoloms-xs_syncbn_fast_8xb8-300e_coco.py') -> str:
    """Write a config inheriting ``base`` that trains on the tiny dataset
    for ``max_iters`` iterations on CPU, saving a checkpoint each
    iteration; return its path (next to ``work_dir``)."""
    from .conftest import REPO_ROOT
    text = f'''
_base_ = {osp.join(REPO_ROOT, base)!r}
data_root = {data_root!r}
work_dir = {work_dir!r}
metainfo = dict(classes={CLASSES!r})
num_classes = {len(CLASSES)}
img_scale = ({img_size}, {img_size})
pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.Pad', size=img_scale, pad_val=dict(img=(114, 114, 114))),
    dict(type='mmdet.PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
dataset = dict(
    type='YOLOv5CocoDataset', data_root=data_root,
    metainfo=metainfo, ann_file='ann.json',
    data_prefix=dict(img='images/'), filter_cfg=dict(filter_empty_gt=False),
    pipeline=pipeline)
train_dataloader = dict(
    _delete_=True, batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='yolov5_collate'), dataset=dataset)
val_dataloader = dict(
    _delete_=True, batch_size=2, num_workers=0, persistent_workers=False,
    drop_last=False, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True, type='mmdet.CocoMetric', proposal_nums=(100, 1, 10),
    ann_file=data_root + '/ann.json', metric='bbox')
test_evaluator = val_evaluator
model = dict(bbox_head=dict(head_module=dict(num_classes=num_classes)),
             train_cfg=dict(assigner=dict(num_classes=num_classes)))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters={max_iters}, val_interval={max_iters})
param_scheduler = [dict(type='ConstantLR', factor=1.0)]
custom_hooks = []
default_hooks = dict(
    checkpoint=dict(_delete_=True, type='CheckpointHook', interval=1,
                    by_epoch=False, max_keep_ckpts=10),
    logger=dict(type='LoggerHook', interval=1),
    param_scheduler=dict(type='ParamSchedulerHook'))
log_processor = dict(by_epoch=False)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
'''
    # beside the work dir, not in it: the runner dumps its own (merged)
    # config into the work dir under the same file name
    path = osp.join(osp.dirname(osp.abspath(work_dir)),
                    osp.basename(work_dir) + '_config.py')
    with open(path, 'w') as f:
        f.write(text)
    return path
