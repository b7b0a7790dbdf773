# Faster R-CNN R50-FPN with MSFM (paper 001, default setting): one MSFM
# after conv3 of every bottleneck of res3, res4 and res5, scales 0.5/0.7/1,
# squeeze ratios 16/32/64, GroupNorm 16, one conv per branch, add fusion.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

# ========================Possible modified parameters========================
msfm = dict(
    type='mmyolo.MSFM',
    scales=(0.5, 0.7, 1.0),
    norm_group=16,
    conv_num=1,
    fusion='add')

# ===============================Unmodified in most cases====================
# mmdet ResNet stages 1, 2, 3 are res3, res4, res5 (the paper's 2, 3, 4)
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(msfm, ratio=16),
            stages=(False, True, False, False),
            position='after_conv3'),
        dict(
            cfg=dict(msfm, ratio=32),
            stages=(False, False, True, False),
            position='after_conv3'),
        dict(
            cfg=dict(msfm, ratio=64),
            stages=(False, False, False, True),
            position='after_conv3'),
    ]))
