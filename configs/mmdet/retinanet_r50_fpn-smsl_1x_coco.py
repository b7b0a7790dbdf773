# RetinaNet R50-FPN followed by SMSL (paper 003) on the five FPN levels.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

# The base FPN (256 channels, 5 outputs), then SMSL, built as a Sequential
model = dict(neck=[
    _base_.model.neck,
    dict(type='mmyolo.SMSL', in_channels=256, num_levels=5, reduction=8),
])
