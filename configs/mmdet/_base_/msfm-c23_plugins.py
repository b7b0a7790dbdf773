# MSFM at two positions of a ResNet-50 (paper 001, multi-position setting,
# its best; shared by the Faster R-CNN and RetinaNet configs beside it):
# after conv2 (GroupNorm 4) and after conv3 (GroupNorm 32) of every
# bottleneck of res3-res5, scales 0.5/0.7/1/1.4/2, squeeze ratios 16/32/64,
# two convs per branch, add fusion. Only new names here, so it can sit
# beside an mmdet base in `_base_`.

# ========================Possible modified parameters========================
msfm = dict(
    type='mmyolo.MSFM', scales=(0.5, 0.7, 1.0, 1.4, 2.0), conv_num=2,
    fusion='add')
# two MSFMs in one block need distinct layer names (msfm_c2, msfm_c3)
msfm_c2 = dict(msfm, norm_group=4, postfix='_c2')
msfm_c3 = dict(msfm, norm_group=32, postfix='_c3')
# mmdet ResNet stages 1, 2, 3 are res3, res4, res5 (the paper's 2, 3, 4)
res3, res4, res5 = ((False, True, False, False), (False, False, True, False),
                    (False, False, False, True))

# ===============================Unmodified in most cases====================
msfm_c23_plugins = [
    dict(cfg=dict(msfm_c2, ratio=16), stages=res3, position='after_conv2'),
    dict(cfg=dict(msfm_c2, ratio=32), stages=res4, position='after_conv2'),
    dict(cfg=dict(msfm_c2, ratio=64), stages=res5, position='after_conv2'),
    dict(cfg=dict(msfm_c3, ratio=16), stages=res3, position='after_conv3'),
    dict(cfg=dict(msfm_c3, ratio=32), stages=res4, position='after_conv3'),
    dict(cfg=dict(msfm_c3, ratio=64), stages=res5, position='after_conv3'),
]
