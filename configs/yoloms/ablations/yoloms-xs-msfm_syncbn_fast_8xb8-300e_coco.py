# YOLO-MS-XS ablation, MSFM (paper 001) after the MS-Block of backbone
# stages 2, 3 and 4 (strides 8, 16, 32, as the paper's ResNet stages 2-4).
# Squeeze ratios 4/8/16 give 32 squeezed channels in each stage (XS widths
# 128/256/512), as the paper's 16/32/64 do on ResNet-50; scales 0.5/0.7/1,
# GroupNorm 16, one conv per branch, add fusion.
_base_ = '../yoloms-xs_syncbn_fast_8xb8-300e_coco.py'

msfm = dict(
    type='MSFM', scales=(0.5, 0.7, 1.0), norm_group=16, conv_num=1,
    fusion='add')

model = dict(
    backbone=dict(plugins=[
        dict(cfg=dict(msfm, ratio=4), stages=(False, True, False, False)),
        dict(cfg=dict(msfm, ratio=8), stages=(False, False, True, False)),
        dict(cfg=dict(msfm, ratio=16), stages=(False, False, False, True)),
    ]))
