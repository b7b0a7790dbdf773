# YOLO-MS-XS: the S config (and its scale jitter) at deepen 1/3, widen 0.4.
_base_ = './yoloms-s_syncbn_fast_8xb8-300e_coco.py'

# -----model related-----
deepen_factor = 1 / 3
widen_factor = 0.4

model = dict(
    backbone=dict(deepen_factor=deepen_factor, widen_factor=widen_factor),
    neck=dict(deepen_factor=deepen_factor, widen_factor=widen_factor),
    bbox_head=dict(head_module=dict(widen_factor=widen_factor)))
