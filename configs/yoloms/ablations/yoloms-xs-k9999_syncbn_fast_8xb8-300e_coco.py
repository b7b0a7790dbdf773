# YOLO-MS-XS ablation, kernel protocol: 9x9 kernels in every backbone stage.
_base_ = '../yoloms-xs_syncbn_fast_8xb8-300e_coco.py'

# [in, out, branch kernel sizes, use SPPF] per backbone stage (before widen)
model = dict(
    backbone=dict(arch_setting=[
        [80, 160, [1, 9, 9], False],
        [160, 320, [1, 9, 9], False],
        [320, 640, [1, 9, 9], False],
        [640, 1280, [1, 9, 9], True],
    ]))
