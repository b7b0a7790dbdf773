# YOLO-MS-XS ablation, branch count: four branches per MS-Block (identity +
# three inverted-bottleneck branches) in the backbone and the neck, instead
# of 3.
_base_ = '../yoloms-xs_syncbn_fast_8xb8-300e_coco.py'

model = dict(
    backbone=dict(arch_setting=[
        [80, 160, [1, 3, 3, 3], False],
        [160, 320, [1, 5, 5, 5], False],
        [320, 640, [1, 7, 7, 7], False],
        [640, 1280, [1, 9, 9, 9], True],
    ]),
    neck=dict(kernel_sizes=[1, 3, 3, 3]))
