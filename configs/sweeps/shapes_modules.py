# The ablation modules and the peer detector against YOLO-MS-XS (3-5-7-9,
# the reference), on the same data, input size and schedule as
# `make sweep-demo` (shapes_demo.py, whose `base`, `common_cfg` and data
# settings this file inherits; only `runs` differs):
#
#   make sweep-demo SWEEP_FILE=configs/sweeps/shapes_modules.py \
#       WORK_DIR=work_dirs/sweep_modules
#
# - Res2Block in place of the MS-Block (3x3 convs at the split width, in
#   backbone and neck): the paper's MS-Block vs Res2Net-style block;
# - MSFM after the blocks of stages 2-4;
# - SMSL after the neck;
# - RTMDet-tiny, the RTMDet model of YOLO-MS-XS's size (the peer).
_base_ = 'shapes_demo.py'

res2_block = dict(type='Res2Block', kernel_sizes=[1, 3, 3], mid_expand_ratio=1)
msfm = dict(type='MSFM', scales=(0.5, 0.7, 1.0), norm_group=16, conv_num=1,
            fusion='add')

runs = [
    dict(name='yoloms-xs-k3579'),
    dict(name='yoloms-xs-res2block',
         cfg=dict(model=dict(backbone=dict(block_cfg=res2_block),
                             neck=dict(block_cfg=res2_block)))),
    dict(name='yoloms-xs-msfm',
         cfg=dict(model=dict(backbone=dict(plugins=[
             dict(cfg=dict(msfm, ratio=4), stages=(False, True, False, False)),
             dict(cfg=dict(msfm, ratio=8), stages=(False, False, True, False)),
             dict(cfg=dict(msfm, ratio=16),
                  stages=(False, False, False, True)),
         ])))),
    dict(name='yoloms-xs-smsl',
         cfg=dict(model=dict(neck=[
             _base_.model.neck,
             dict(type='SMSL', in_channels=96, num_levels=3, reduction=8),
         ]))),
    dict(name='rtmdet-tiny',
         config='../shapes/rtmdet-tiny_fast_1xb8-10e_shapes.py'),
]
