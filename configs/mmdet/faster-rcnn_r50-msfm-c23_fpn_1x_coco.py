# Faster R-CNN R50-FPN with MSFM at two positions of every res3-res5
# bottleneck (_base_/msfm-c23_plugins.py).
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    './_base_/msfm-c23_plugins.py'
]

custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

model = dict(backbone=dict(plugins=_base_.msfm_c23_plugins))
