# YOLO-MS-XS ablation, SMSL (paper 003) after the PAFPN on its three output
# levels (int(240 * widen_factor 0.4) = 96 channels each).
_base_ = '../yoloms-xs_syncbn_fast_8xb8-300e_coco.py'

# The base YOLOMSPAFPN, then SMSL, built as a Sequential
model = dict(neck=[
    _base_.model.neck,
    dict(type='SMSL', in_channels=96, num_levels=3, reduction=8),
])
