# YOLO-MS-XS ablation, PSConv for large kernels: the 5x5/7x7/9x9 depthwise
# convs of the backbone MS-Blocks become 3x3 depthwise PSConv2d (paper 002,
# dilations 1, 2, 1, 4: receptive fields 3, 5, 3, 9 across the channels).
# The blocks' 1x1 convs are PSConv2d too, which for 1x1 is a plain conv.
_base_ = '../yoloms-xs_syncbn_fast_8xb8-300e_coco.py'

model = dict(
    backbone=dict(
        arch_setting=[
            [80, 160, [1, 3, 3], False],
            [160, 320, [1, 3, 3], False],
            [320, 640, [1, 3, 3], False],
            [640, 1280, [1, 3, 3], True],
        ],
        block_cfg=dict(
            type='MSBlock',
            conv_cfg=dict(type='PSConv2d', dilations=(1, 2, 1, 4)))))
