# YOLOv8-MS-n: MS-Block backbone (conv stem, kernels 3-5-7-9, SPPF last)
# and YOLOv8's PAFPN with MS-Blocks, on YOLOv8-s's head, data and
# 500-epoch schedule (the official YOLO-MS release's recipe).
_base_ = 'mmyolo::yolov8/yolov8_s_syncbn_fast_8xb16-500e_coco.py'

custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

# ========================Possible modified parameters========================
# -----model related-----
deepen_factor = 1 / 3
widen_factor = 0.15
# The output channel of the last stage
last_stage_out_channels = 1280
# restated, not `_base_.norm_cfg`: a dict read from an mmyolo:: base
# carries a `_scope_` key, which BN would receive as an argument
norm_cfg = dict(type='BN', momentum=0.03, eps=0.001)
act_cfg = dict(type='SiLU', inplace=True)
# MS-Block widths and depth (before deepen_factor)
in_expand_ratio = 3
mid_expand_ratio = 2
layers_num = 3

# ===============================Unmodified in most cases====================
model = dict(
    backbone=dict(
        _delete_=True,
        type='YOLOv8MSBackbone',
        arch='C3-K3579',
        last_stage_out_channels=last_stage_out_channels,
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        norm_cfg=norm_cfg,
        in_expand_ratio=in_expand_ratio,
        mid_expand_ratio=mid_expand_ratio,
        layers_num=layers_num,
        act_cfg=act_cfg),
    neck=dict(
        _delete_=True,
        type='YOLOv8MSPAFPN',
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        in_channels=[320, 640, last_stage_out_channels],
        out_channels=[320, 640, last_stage_out_channels],
        in_expand_ratio=in_expand_ratio,
        in_down_ratio=2,
        mid_expand_ratio=mid_expand_ratio,
        kernel_sizes=[1, 3, 3],
        layers_num=layers_num,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg),
    bbox_head=dict(
        head_module=dict(
            in_channels=[320, 640, last_stage_out_channels],
            widen_factor=widen_factor)))

train_dataloader = dict(
    # restated: loaded from an mmyolo:: base, the collate_fn dict carries a
    # `_scope_` key that the runner would pass on to yolov5_collate
    collate_fn=dict(_delete_=True, type='yolov5_collate'))
