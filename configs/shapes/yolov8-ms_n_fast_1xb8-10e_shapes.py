# YOLOv8-MS-n on the offline shapes dataset, trained on CPU: the data,
# input scale, schedule, optimizer and hooks of
# yoloms-xs_fast_1xb8-10e_shapes.py (inherited), with its model replaced by
# YOLOv8-MS-n (../yolov8_ms/yolov8-ms_n_syncbn_fast_8xb16-500e_coco.py) for
# 5 classes: YOLOv8's head, losses and task-aligned assigner.
_base_ = './yoloms-xs_fast_1xb8-10e_shapes.py'

# ========================Possible modified parameters========================
# -----model related-----
deepen_factor = 1 / 3
widen_factor = 0.15
last_stage_out_channels = 1280
strides = [8, 16, 32]
norm_cfg = dict(type='BN', momentum=0.03, eps=0.001)
act_cfg = dict(type='SiLU', inplace=True)
# MS-Block widths and depth (before deepen_factor)
in_expand_ratio = 3
mid_expand_ratio = 2
layers_num = 3

# ===============================Unmodified in most cases====================
model = dict(
    _delete_=True,
    type='YOLODetector',
    # SyncBatchNorm runs on GPUs only (see the XS shapes config)
    use_syncbn=False,
    data_preprocessor=dict(
        type='YOLOv5DetDataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        bgr_to_rgb=True),
    backbone=dict(
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
        type='YOLOv8Head',
        head_module=dict(
            type='YOLOv8HeadModule',
            num_classes=_base_.num_classes,
            in_channels=[320, 640, last_stage_out_channels],
            widen_factor=widen_factor,
            reg_max=16,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            featmap_strides=strides),
        prior_generator=dict(
            type='mmdet.MlvlPointGenerator', offset=0.5, strides=strides),
        bbox_coder=dict(type='DistancePointBBoxCoder'),
        loss_cls=dict(
            type='mmdet.CrossEntropyLoss',
            use_sigmoid=True,
            reduction='none',
            loss_weight=0.5),
        loss_bbox=dict(
            type='IoULoss',
            iou_mode='ciou',
            bbox_format='xyxy',
            reduction='sum',
            loss_weight=7.5,
            return_iou=False),
        loss_dfl=dict(
            type='mmdet.DistributionFocalLoss',
            reduction='mean',
            loss_weight=1.5 / 4)),
    train_cfg=dict(
        assigner=dict(
            type='BatchTaskAlignedAssigner',
            num_classes=_base_.num_classes,
            use_ciou=True,
            topk=10,
            alpha=0.5,
            beta=6.0,
            eps=1e-9)),
    test_cfg=dict(
        multi_label=True,
        nms_pre=30000,
        score_thr=0.001,
        nms=dict(type='nms', iou_threshold=0.7),
        max_per_img=300))
