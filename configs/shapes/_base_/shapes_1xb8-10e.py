# The offline shapes dataset (tools/generate_shapes.py), its pipelines, the
# 10-epoch schedule, optimizer, hooks and CPU runtime shared by every shapes
# config: one process of 8 images, from scratch, offline. Each shapes model
# config starts from its COCO config and applies this file over it (see
# ../yoloms-xs_fast_1xb8-10e_shapes.py for why it is not in `_base_`), so
# a model config holds only its model.
#
# Only data, input scale, schedule, workers and hooks differ from the COCO
# recipes, plus what DDP on CPU needs (no device_ids); the model configs
# add plain BN and the 5 classes.

# the dataset type comes from mmyoloms
custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

# ========================Frequently modified parameters======================
# -----data related-----
data_root = 'data/shapes/'  # written by tools/generate_shapes.py
train_ann_file = 'annotations/instances_train.json'
train_data_prefix = 'train/'
val_ann_file = 'annotations/instances_val.json'
val_data_prefix = 'val/'
class_name = ('ellipse', 'triangle', 'rectangle', 'star', 'cross')
num_classes = len(class_name)
metainfo = dict(
    classes=class_name,
    palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75), (245, 130, 48),
             (145, 30, 180)])

train_batch_size_per_gpu = 8
# CPU: at most 2 loader workers, no pinned memory
train_num_workers = 2
persistent_workers = True

# -----train val related-----
base_lr = 0.004
max_epochs = 10
warmup_iters = 100
val_interval = 5

# ========================Possible modified parameters========================
img_scale = (256, 256)  # width, height
dataset_type = 'CheckedYOLOv5CocoDataset'
val_batch_size_per_gpu = 8
val_num_workers = 2

batch_shapes_cfg = dict(
    type='BatchShapePolicy',
    batch_size=val_batch_size_per_gpu,
    img_size=img_scale[0],
    size_divisor=32,
    extra_pad_ratio=0.5)

# the values of the RTMDet COCO recipes, which every COCO config of the
# shapes models inherits (restated: this file has no base to read them from)
backend_args = None
lr_start_factor = 1.0e-5

# ===============================Unmodified in most cases====================
# The COCO recipe's Mosaic, MixUp and scale jitter are left out: this
# schedule is far from overfitting (train loss still falls steeply at its
# end), so images are resized as in testing and only flipped. A mosaic
# would also halve every object at this input size.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(
        type='LetterResize',
        scale=img_scale,
        allow_scale_up=False,
        pad_val=dict(img=114)),
    dict(type='mmdet.RandomFlip', prob=0.5),
    dict(type='mmdet.PackDetInputs')
]

test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='YOLOv5KeepRatioResize', scale=img_scale),
    dict(
        type='LetterResize',
        scale=img_scale,
        allow_scale_up=False,
        pad_val=dict(img=114)),
    dict(type='LoadAnnotations', with_bbox=True, _scope_='mmdet'),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'pad_param'))
]

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    num_workers=train_num_workers,
    persistent_workers=persistent_workers,
    pin_memory=False,
    # restated without the `_scope_` key that mmengine adds to dicts of
    # `mmyolo::` base configs: the runner passes every key of `collate_fn`
    # to the function
    collate_fn=dict(_delete_=True, type='yolov5_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file=train_ann_file,
        data_prefix=dict(img=train_data_prefix),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=val_batch_size_per_gpu,
    num_workers=val_num_workers,
    persistent_workers=persistent_workers,
    pin_memory=False,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file=val_ann_file,
        data_prefix=dict(img=val_data_prefix),
        batch_shapes_cfg=batch_shapes_cfg,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=data_root + val_ann_file)
test_evaluator = val_evaluator

# bfloat16 autocast where the CPU computes it natively (AMX / AVX512-BF16;
# elsewhere it trains in float32 and says so) and the fused AdamW kernel:
# the two speed levers that measured faster (docs/training_speed.md)
optim_wrapper = dict(
    type='CPUAutocastOptimWrapper',
    optimizer=dict(lr=base_lr, fused=True))
# base_lr is the rate of a total batch of train_batch_size_per_gpu images
# (one process); the runner scales it linearly with the real total batch
# (processes x batch size), as the COCO recipes do from 256 images.
auto_scale_lr = dict(enable=True, base_batch_size=train_batch_size_per_gpu)

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=lr_start_factor,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='CosineAnnealingLR',
        eta_min=base_lr * 0.05,
        begin=1,
        end=max_epochs,
        T_max=max_epochs - 1,
        by_epoch=True,
        convert_to_iter_based=True),
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='CheckpointHook',
        interval=val_interval,
        max_keep_ckpts=2,
        save_best='coco/bbox_mAP',
        rule='greater'))

# EMA as in the COCO config; no pipeline switch (there is no Mosaic stage).
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.0002,
        update_buffers=True,
        strict_load=False,
        priority=49)
]

train_cfg = dict(
    max_epochs=max_epochs,
    val_interval=val_interval,
    dynamic_intervals=None)

# dist_cfg stays nccl: mmyoloms.compat switches to gloo where CUDA is absent
env_cfg = dict(cudnn_benchmark=False)

# DDP wraps the model on its own device (one GPU per process, or the CPU
# with gloo); mmengine's default passes device_ids=[LOCAL_RANK], which
# DistributedDataParallel refuses for a CPU model.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False)
