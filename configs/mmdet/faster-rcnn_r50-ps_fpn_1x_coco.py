# Faster R-CNN with PS-ResNet-50 (paper 002): every bottleneck 3x3 conv is a
# PSConv2d (dilations 1, 2, 1, 4), through mmdet ResNet's `dcn` hook. Same
# parameters as ResNet-50, so the torchvision checkpoint loads unchanged.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        dcn=dict(type='mmyolo.PSConv2d', dilations=(1, 2, 1, 4)),
        stage_with_dcn=(True, True, True, True)))
