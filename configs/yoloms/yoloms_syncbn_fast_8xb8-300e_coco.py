# YOLO-MS (M): MS-Block backbone and PAFPN on the RTMDet head and schedule.
_base_ = 'mmyolo::rtmdet/rtmdet_l_syncbn_fast_8xb32-300e_coco.py'

custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

# ========================Frequently modified parameters======================
# Batch size of a single GPU during training (8 GPUs x 8 images)
train_batch_size_per_gpu = 8

# -----model related-----
deepen_factor = 2 / 3
widen_factor = 0.8

# ========================Possible modified parameters========================
norm_cfg = dict(type='BN')
act_cfg = dict(type='SiLU', inplace=True)
# MS-Block widths and depth (before deepen_factor)
in_expand_ratio = 3
mid_expand_ratio = 2
layers_num = 3
loss_bbox_weight = 2.0

# ===============================Unmodified in most cases====================
model = dict(
    backbone=dict(
        _delete_=True,
        type='YOLOMSBackbone',
        arch='C3-K3579',
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        in_expand_ratio=in_expand_ratio,
        mid_expand_ratio=mid_expand_ratio,
        layers_num=layers_num,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg),
    neck=dict(
        _delete_=True,
        type='YOLOMSPAFPN',
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        in_channels=[320, 640, 1280],
        mid_channels=[160, 320, 640],
        out_channels=240,
        in_expand_ratio=in_expand_ratio,
        mid_expand_ratio=mid_expand_ratio,
        layers_num=layers_num,
        in_down_ratio=2,
        kernel_sizes=[1, 3, 3],
        norm_cfg=norm_cfg,
        act_cfg=act_cfg),
    bbox_head=dict(
        head_module=dict(
            in_channels=240,
            feat_channels=240,
            widen_factor=widen_factor,
            act_cfg=dict(type='LeakyReLU', inplace=True)),
        loss_bbox=dict(
            _delete_=True, type='mmdet.DIoULoss',
            loss_weight=loss_bbox_weight)))

# The learning rate (base_lr = 0.004 from RTMDet) is that of a total batch
# of 256 images; the runner scales it linearly to the real total batch, as in
# the official runs: 8 GPUs x 8 images train at 0.004 * 64 / 256 = 0.001.
auto_scale_lr = dict(enable=True, base_batch_size=256)

train_dataloader = dict(
    batch_size=train_batch_size_per_gpu,
    # restated: loaded from an mmyolo:: base, the collate_fn dict carries a
    # `_scope_` key that the runner would pass on to yolov5_collate
    collate_fn=dict(_delete_=True, type='yolov5_collate'))
