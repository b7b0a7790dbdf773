# YOLO-MS-XS ablation, MS-Block vs Res2Net block: every block of the
# backbone and the neck is a Res2Block (paper 004) with plain 3x3 convs at
# the split width (mid_expand_ratio=1), in place of MSBlock.
_base_ = '../yoloms-xs_syncbn_fast_8xb8-300e_coco.py'

block_cfg = dict(type='Res2Block', kernel_sizes=[1, 3, 3], mid_expand_ratio=1)

model = dict(
    backbone=dict(block_cfg=block_cfg), neck=dict(block_cfg=block_cfg))
