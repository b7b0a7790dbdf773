# `make sweep-demo`: YOLO-MS-XS ablations on the offline shapes dataset, with
# RTMDet-tiny as the peer. A sweep file for tools/sweep.py: `base` is the
# config every run starts from, `runs` the named overrides (MMEngine syntax).
# `_base_` only makes the base's values referable below (`_base_.model...`).
_base_ = '../shapes/yoloms-xs_fast_1xb8-10e_shapes.py'
base = '../shapes/yoloms-xs_fast_1xb8-10e_shapes.py'


def _kernels(k):
    return [[80, 160, [1, k[0], k[0]], False],
            [160, 320, [1, k[1], k[1]], False],
            [320, 640, [1, k[2], k[2]], False],
            [640, 1280, [1, k[3], k[3]], True]]


res2_block = dict(type='Res2Block', kernel_sizes=[1, 3, 3], mid_expand_ratio=1)
msfm = dict(type='MSFM', scales=(0.5, 0.7, 1.0), norm_group=16, conv_num=1,
            fusion='add')

runs = [
    dict(name='yoloms-xs-k3579'),
    dict(name='yoloms-xs-k3333',
         cfg=dict(model=dict(backbone=dict(arch_setting=_kernels([3] * 4))))),
    dict(name='yoloms-xs-k9999',
         cfg=dict(model=dict(backbone=dict(arch_setting=_kernels([9] * 4))))),
    dict(name='yoloms-xs-res2block',
         cfg=dict(model=dict(backbone=dict(block_cfg=res2_block),
                             neck=dict(block_cfg=res2_block)))),
    dict(name='yoloms-xs-msfm',
         cfg=dict(model=dict(backbone=dict(plugins=[
             dict(cfg=dict(msfm, ratio=4), stages=(False, True, False, False)),
             dict(cfg=dict(msfm, ratio=8), stages=(False, False, True, False)),
             dict(cfg=dict(msfm, ratio=16), stages=(False, False, False, True)),
         ])))),
    dict(name='yoloms-xs-smsl',
         cfg=dict(model=dict(neck=[
             _base_.model.neck,
             dict(type='SMSL', in_channels=96, num_levels=3, reduction=8),
         ]))),
    dict(name='rtmdet-tiny',
         config='../shapes/rtmdet-tiny_fast_1xb8-10e_shapes.py'),
]
