# YOLOv6-MS-t: MS-Block backbone (RepVGG stem, kernels 3-5-7-9, SPPF last)
# and YOLOv6's RepPAFPN with MS-Blocks, on YOLOv6-s's head, data and
# 400-epoch schedule (the official YOLO-MS release's recipe).
_base_ = 'mmyolo::yolov6/yolov6_s_syncbn_fast_8xb32-400e_coco.py'

custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

# ======================= Possible modified parameters =======================
# -----model related-----
deepen_factor = 1 / 3
widen_factor = 0.35
norm_cfg = dict(type='BN', momentum=0.03, eps=0.001)
act_cfg = dict(type='SiLU', inplace=True)
# MS-Block widths and depth (before deepen_factor)
in_expand_ratio = 3
mid_expand_ratio = 2
layers_num = 3

# ============================== Unmodified in most cases ===================
model = dict(
    backbone=dict(
        _delete_=True,
        type='YOLOv6MSBackbone',
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
        type='YOLOv6MSPAFPN',
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        in_channels=[320, 640, 1280],
        out_channels=[160, 320, 640],
        in_expand_ratio=in_expand_ratio,
        in_down_ratio=2,
        mid_expand_ratio=mid_expand_ratio,
        kernel_sizes=[1, 3, 3],
        layers_num=layers_num,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg),
    bbox_head=dict(
        head_module=dict(
            in_channels=[160, 320, 640], widen_factor=widen_factor)))

train_dataloader = dict(
    # restated: loaded from an mmyolo:: base, the collate_fn dict carries a
    # `_scope_` key that the runner would pass on to yolov5_collate
    collate_fn=dict(_delete_=True, type='yolov5_collate'))
