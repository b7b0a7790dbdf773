# YOLO-MS-XS with SE attention after every backbone MS-Block.
_base_ = './yoloms-xs_syncbn_fast_8xb8-300e_coco.py'

# Attention at the end of every backbone MS-Block
model = dict(backbone=dict(attention_cfg=dict(type='SEAttention')))
