# Fine-tuning against training from scratch on a second task: YOLO-MS-XS
# on three other classes (hexagon, arrow, crescent) on tiled backgrounds,
# either from random initialisation or from the demo's 5-class checkpoint
# (backbone and neck loaded, the classification layers left at their
# initialisation because their shapes differ). Both runs have the same
# schedule: the demo config's 10 epochs, or --epochs (the measured run: 4).
# docs/custom_data.md#measured-transfer has the measurement. A sweep file
# for tools/sweep.py (see shapes_demo.py).
#
#   python tools/run_demo.py --epochs 5 --work-dir work_dirs/demo_src \
#       --data-root data/shapes
#   python tools/generate_shapes.py data/transfer_shapes --reuse \
#       --classes hexagon arrow crescent --background tiles \
#       --num-train 400 --num-val 200
#   python tools/sweep.py configs/sweeps/shapes_transfer.py \
#       --out work_dirs/transfer --seeds 0 1 2 --epochs 4 --no-latency
_base_ = '../shapes/yoloms-xs_fast_1xb8-10e_shapes.py'
base = '../shapes/yoloms-xs_fast_1xb8-10e_shapes.py'

# ========================Frequently modified parameters======================
# The checkpoint fine-tuned from: epoch 3 of the 5-epoch demo above (the
# measured run was stopped there for time; the demo writes the same file on
# its way; the weights are the EMA model's, as in every checkpoint with
# EMAHook).
source_checkpoint = 'work_dirs/demo_src/epoch_3.pth'
data_root = 'data/transfer_shapes/'
class_name = ('hexagon', 'arrow', 'crescent')
num_classes = len(class_name)
metainfo = dict(
    classes=class_name,
    palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75)])
img_scale = (160, 160)  # width, height

# ===============================Unmodified in most cases====================
# The base's pipelines with their resize steps at `img_scale`.
train_pipeline = [
    dict(step, scale=img_scale) if 'scale' in step else dict(step)
    for step in _base_.train_pipeline
]
test_pipeline = [
    dict(step, scale=img_scale) if 'scale' in step else dict(step)
    for step in _base_.test_pipeline
]
test_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        batch_shapes_cfg=dict(img_size=img_scale[0]),
        pipeline=test_pipeline))

common_cfg = dict(
    img_scale=img_scale,
    model=dict(
        bbox_head=dict(head_module=dict(num_classes=num_classes)),
        train_cfg=dict(assigner=dict(num_classes=num_classes))),
    train_dataloader=dict(
        dataset=dict(
            data_root=data_root, metainfo=metainfo,
            pipeline=train_pipeline)),
    test_dataloader=test_dataloader,
    test_evaluator=dict(
        ann_file=data_root + 'annotations/instances_val.json',
        classwise=True),
    # No validation while training: the sweep tests the final (EMA) model
    # once, on the val split.
    val_dataloader=None,
    val_cfg=None,
    val_evaluator=None,
    default_hooks=dict(
        checkpoint=dict(save_best=None, rule=None, max_keep_ckpts=1)))

runs = [
    dict(name='scratch'),
    dict(name='finetune', cfg=dict(load_from=source_checkpoint)),
]
