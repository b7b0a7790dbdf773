# RetinaNet R50-FPN with MSFM at two positions of every res3-res5
# bottleneck (_base_/msfm-c23_plugins.py), the multi-position setting the
# paper applies to other detectors.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    './_base_/msfm-c23_plugins.py'
]

custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

model = dict(backbone=dict(plugins=_base_.msfm_c23_plugins))
