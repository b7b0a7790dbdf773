# YOLO-MS-S as an MMDet backbone, shared by the Faster R-CNN and RetinaNet
# configs beside it (trained from scratch: there is no ImageNet checkpoint
# of it). Its four stages (strides 4-32) feed the FPN as ResNet's res2-res5
# do. Only new names here, so it can sit beside an mmdet base in `_base_`.

# ========================Frequently modified parameters======================
deepen_factor = 1 / 3
widen_factor = 0.54
# stage outputs int(c * widen_factor) for c in (160, 320, 640, 1280)
yoloms_s_channels = [86, 172, 345, 691]

# ===============================Unmodified in most cases====================
# MSBlock is built in the mmyolo scope even though mmdet is the default one
yoloms_s_backbone = dict(
    type='mmyolo.YOLOMSBackbone',
    arch='C3-K3579',
    deepen_factor=deepen_factor,
    widen_factor=widen_factor,
    in_expand_ratio=3,
    mid_expand_ratio=2,
    layers_num=3,
    out_indices=(1, 2, 3, 4),
    norm_cfg=dict(type='BN'),
    act_cfg=dict(type='SiLU', inplace=True))
