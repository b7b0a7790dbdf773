# YOLO-MS-S on the offline shapes dataset: the XS shapes config at the S
# size (deepen 1/3, widen 0.54, as ../yoloms/yoloms-s_syncbn_fast_8xb8-300e
# _coco.py does to the M config). Data, input scale and schedule are XS's.
_base_ = './yoloms-xs_fast_1xb8-10e_shapes.py'

# -----model related-----
deepen_factor = 1 / 3
widen_factor = 0.54

model = dict(
    backbone=dict(deepen_factor=deepen_factor, widen_factor=widen_factor),
    neck=dict(deepen_factor=deepen_factor, widen_factor=widen_factor),
    bbox_head=dict(head_module=dict(widen_factor=widen_factor)))
