# YOLO-MS-XS ablation, kernel protocol: 3-5-7-9 from shallow to deep, the
# paper's heterogeneous protocol and the default (the reference of the sweep).
_base_ = '../yoloms-xs_syncbn_fast_8xb8-300e_coco.py'

# [in, out, branch kernel sizes, use SPPF] per backbone stage (before widen)
model = dict(
    backbone=dict(arch_setting=[
        [80, 160, [1, 3, 3], False],
        [160, 320, [1, 5, 5], False],
        [320, 640, [1, 7, 7], False],
        [640, 1280, [1, 9, 9], True],
    ]))
