# `make sweep-demo`: YOLO-MS-XS's kernel protocols (3-5-7-9, the paper's,
# against 3-3-3-3 and 9-9-9-9) on the offline shapes dataset, sized for a
# 2-core CPU (docs/sweeps.md has the budget and what it measured).
# `shapes_modules.py` sweeps the ablation modules and RTMDet-tiny against
# the same reference. A sweep file for
# tools/sweep.py: `base` is the config every run starts from, `common_cfg`
# the overrides of every run (data and input size), `runs` the variants.
# `_base_` only makes the base's values referable below (its pipelines,
# `_base_.model...`).
#
#   python tools/generate_shapes.py data/shapes --reuse
#   python tools/sweep.py configs/sweeps/shapes_demo.py \
#       --out work_dirs/sweep_demo --seeds 0 1 2 3 --epochs 8
_base_ = '../shapes/yoloms-xs_fast_1xb8-10e_shapes.py'
base = '../shapes/yoloms-xs_fast_1xb8-10e_shapes.py'

# ========================Frequently modified parameters======================
# The demo's dataset (192-320 px images with 1-10 shapes each, 5 per image
# on average) resized to 160x160: objects from 8 to 150 px across (median
# 34), a 19x range of scales, and more positives per iteration than images
# drawn at 160x160 with fewer shapes (a third of the seed spread, measured
# in docs/sweeps.md).
data_root = 'data/shapes/'
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
        batch_shapes_cfg=dict(img_size=img_scale[0]),
        pipeline=test_pipeline))

common_cfg = dict(
    img_scale=img_scale,
    train_dataloader=dict(
        dataset=dict(data_root=data_root, pipeline=train_pipeline)),
    test_dataloader=test_dataloader,
    test_evaluator=dict(
        ann_file=data_root + 'annotations/instances_val.json'),
    # No validation while training: the sweep tests the final (EMA) model
    # once, on the same val split.
    val_dataloader=None,
    val_cfg=None,
    val_evaluator=None,
    default_hooks=dict(
        checkpoint=dict(save_best=None, rule=None, max_keep_ckpts=1)))


def _kernels(k):
    return [[80, 160, [1, k[0], k[0]], False],
            [160, 320, [1, k[1], k[1]], False],
            [320, 640, [1, k[2], k[2]], False],
            [640, 1280, [1, k[3], k[3]], True]]


runs = [
    dict(name='yoloms-xs-k3579'),
    dict(name='yoloms-xs-k3333',
         cfg=dict(model=dict(backbone=dict(arch_setting=_kernels([3] * 4))))),
    dict(name='yoloms-xs-k9999',
         cfg=dict(model=dict(backbone=dict(arch_setting=_kernels([9] * 4))))),
]
