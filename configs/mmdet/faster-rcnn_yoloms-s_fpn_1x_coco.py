# Faster R-CNN with the YOLO-MS-S backbone in place of ResNet-50 (trained
# from scratch: there is no ImageNet checkpoint of it). Its four stages
# (strides 4-32) feed the FPN as ResNet's res2-res5 do.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

# ========================Frequently modified parameters======================
deepen_factor = 1 / 3
widen_factor = 0.54
# stage outputs int(c * widen_factor) for c in (160, 320, 640, 1280)
backbone_channels = [86, 172, 345, 691]

# ===============================Unmodified in most cases====================
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmyolo.YOLOMSBackbone',
        arch='C3-K3579',
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        in_expand_ratio=3,
        mid_expand_ratio=2,
        layers_num=3,
        # scoped: the backbone builds its blocks under the mmdet default scope
        block_cfg=dict(type='mmyolo.MSBlock'),
        out_indices=(1, 2, 3, 4),
        norm_cfg=dict(type='BN'),
        act_cfg=dict(type='SiLU', inplace=True)),
    neck=dict(in_channels=backbone_channels))
