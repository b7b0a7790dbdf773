# RetinaNet with the YOLO-MS-S backbone in place of ResNet-50
# (_base_/yoloms-s_backbone.py); the FPN starts at level 1, as for ResNet.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    './_base_/yoloms-s_backbone.py'
]

custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

model = dict(
    backbone=dict(_base_.yoloms_s_backbone, _delete_=True),
    neck=dict(in_channels=_base_.yoloms_s_channels))
