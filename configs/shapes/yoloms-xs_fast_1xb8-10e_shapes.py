# YOLO-MS-XS on the offline shapes dataset, trained on CPU (``make demo``):
# the COCO config's model with 5 classes and plain BN, and the data, input
# scale, schedule, optimizer, hooks and runtime of the shapes base
# (_base_/shapes_1xb8-10e.py), which every shapes config shares.
_base_ = '../yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py'

# The shapes base sets keys that the COCO config sets too (data_root,
# train_pipeline, param_scheduler, ...), and MMEngine refuses two `_base_`
# files that share a key; so it is applied here, over the COCO config, as
# if its lines were written in this file (dicts merge into the COCO
# config's, `_delete_` included). Its names (num_classes, img_scale, ...)
# are defined from this line on.
import mmengine  # noqa: E402

globals().update(
    mmengine.Config.fromfile(
        '{{ fileDirname }}/_base_/shapes_1xb8-10e.py').to_dict())

# ===============================Unmodified in most cases====================
model = dict(
    # SyncBatchNorm runs on GPUs only; on CPU (gloo) every process keeps
    # its own BN statistics. Multi-GPU runs may set it back to True.
    use_syncbn=False,
    bbox_head=dict(head_module=dict(num_classes=num_classes)),  # noqa: F821
    train_cfg=dict(assigner=dict(num_classes=num_classes)))  # noqa: F821
