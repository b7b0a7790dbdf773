# YOLO-MS-S: the M config at deepen 1/3, widen 0.54, with milder scale
# jitter (as RTMDet-s does).
_base_ = './yoloms_syncbn_fast_8xb8-300e_coco.py'

# -----model related-----
deepen_factor = 1 / 3
widen_factor = 0.54

# -----data related-----
# Ratio range of the random resize after Mosaic (M: (0.1, 2.0))
random_resize_ratio_range = (0.5, 2.0)

model = dict(
    backbone=dict(deepen_factor=deepen_factor, widen_factor=widen_factor),
    neck=dict(deepen_factor=deepen_factor, widen_factor=widen_factor),
    bbox_head=dict(head_module=dict(widen_factor=widen_factor)))

# The base pipelines with only the RandomResize ratio range changed; the
# train dataloader and the stage-2 switch hook read their own copies.
train_pipeline = [
    dict(step, ratio_range=random_resize_ratio_range)
    if step['type'] == 'mmdet.RandomResize' else step
    for step in _base_.train_pipeline
]
train_pipeline_stage2 = [
    dict(step, ratio_range=random_resize_ratio_range)
    if step['type'] == 'mmdet.RandomResize' else step
    for step in _base_.train_pipeline_stage2
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [
    dict(hook, switch_pipeline=train_pipeline_stage2)
    if hook['type'] == 'mmdet.PipelineSwitchHook' else hook
    for hook in _base_.custom_hooks
]
