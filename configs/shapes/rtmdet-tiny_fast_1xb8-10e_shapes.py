# RTMDet-tiny, the peer of YOLO-MS-XS, on the offline shapes dataset: the
# COCO config's model with 5 classes and plain BN, and the data, input
# scale, schedule, optimizer, hooks and runtime of the shapes base
# (_base_/shapes_1xb8-10e.py), exactly as yoloms-xs_fast_1xb8-10e_shapes.py
# (tests/configs/test_shapes_configs.py checks that they agree). No
# ImageNet-pretrained backbone: both train from scratch, offline.
_base_ = 'mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py'

# The shapes base applied over the COCO config, as if its lines were
# written here (yoloms-xs_fast_1xb8-10e_shapes.py says why it is not a
# `_base_`). Its names (num_classes, img_scale, ...) are defined from this
# line on.
import mmengine  # noqa: E402

globals().update(
    mmengine.Config.fromfile(
        '{{ fileDirname }}/_base_/shapes_1xb8-10e.py').to_dict())

# ===============================Unmodified in most cases====================
model = dict(
    # SyncBatchNorm runs on GPUs only; on CPU (gloo) every process keeps
    # its own BN statistics. Multi-GPU runs may set it back to True.
    use_syncbn=False,
    # the COCO config loads an ImageNet checkpoint by URL
    backbone=dict(init_cfg=None),
    bbox_head=dict(head_module=dict(num_classes=num_classes)),  # noqa: F821
    train_cfg=dict(assigner=dict(num_classes=num_classes)))  # noqa: F821
