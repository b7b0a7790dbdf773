"""configs/sweeps/shapes_transfer.py: fine-tuned against scratch on the
3-class transfer shapes, the same budget."""
import os.path as osp

from mmyolo.registry import MODELS
from mmyoloms.datasets import TRANSFER_CLASSES
from mmyoloms.sweep import load_sweep_file
from ..conftest import REPO_ROOT

TRANSFER = load_sweep_file(
    osp.join(REPO_ROOT, 'configs', 'sweeps', 'shapes_transfer.py'))


def test_runs_differ_only_by_load_from():
    assert [r.name for r in TRANSFER] == ['scratch', 'finetune']
    scratch, finetune = (r.build_config(seed=0).to_dict() for r in TRANSFER)
    assert scratch.pop('load_from') is None
    assert finetune.pop('load_from') == 'work_dirs/demo_src/epoch_3.pth'
    assert scratch == finetune


def test_three_classes_on_the_transfer_set():
    cfg = TRANSFER[0].build_config(seed=0)
    for name in ('train_dataloader', 'test_dataloader'):
        dataset = cfg[name].dataset
        assert dataset.data_root == 'data/transfer_shapes/'
        assert dataset.metainfo.classes == TRANSFER_CLASSES
    assert cfg.test_evaluator.ann_file == \
        'data/transfer_shapes/annotations/instances_val.json'
    assert cfg.test_evaluator.classwise
    assert cfg.img_scale == (160, 160)
    model = MODELS.build(cfg.model)
    assert [c.out_channels for c in model.bbox_head.head_module.rtm_cls
            ] == [3, 3, 3]
