# YOLO-MS-XS ablation, kernel protocol: 9-7-5-3, the reversed protocol
# (large kernels shallow, small kernels deep).
_base_ = '../yoloms-xs_syncbn_fast_8xb8-300e_coco.py'

# [in, out, branch kernel sizes, use SPPF] per backbone stage (before widen)
model = dict(
    backbone=dict(arch_setting=[
        [80, 160, [1, 9, 9], False],
        [160, 320, [1, 7, 7], False],
        [320, 640, [1, 5, 5], False],
        [640, 1280, [1, 3, 3], True],
    ]))
