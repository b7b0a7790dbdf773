# Faster R-CNN R50-FPN with MSFM at two positions (paper 001, multi-position
# setting, its best): after conv2 (GroupNorm 4) and after conv3 (GroupNorm
# 32) of every bottleneck of res3-res5, scales 0.5/0.7/1/1.4/2, squeeze
# ratios 16/32/64, two convs per branch, add fusion.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmyoloms'], allow_failed_imports=False)

# ========================Possible modified parameters========================
msfm = dict(
    type='mmyolo.MSFM', scales=(0.5, 0.7, 1.0, 1.4, 2.0), conv_num=2,
    fusion='add')
# two MSFMs in one block need distinct layer names (msfm_c2, msfm_c3)
msfm_c2 = dict(msfm, norm_group=4, postfix='_c2')
msfm_c3 = dict(msfm, norm_group=32, postfix='_c3')
res3, res4, res5 = ((False, True, False, False), (False, False, True, False),
                    (False, False, False, True))

# ===============================Unmodified in most cases====================
model = dict(
    backbone=dict(plugins=[
        dict(cfg=dict(msfm_c2, ratio=16), stages=res3, position='after_conv2'),
        dict(cfg=dict(msfm_c2, ratio=32), stages=res4, position='after_conv2'),
        dict(cfg=dict(msfm_c2, ratio=64), stages=res5, position='after_conv2'),
        dict(cfg=dict(msfm_c3, ratio=16), stages=res3, position='after_conv3'),
        dict(cfg=dict(msfm_c3, ratio=32), stages=res4, position='after_conv3'),
        dict(cfg=dict(msfm_c3, ratio=64), stages=res5, position='after_conv3'),
    ]))
