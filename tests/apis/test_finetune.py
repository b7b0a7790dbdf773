"""Fine-tuning a checkpoint of another number of classes: a 5-class
detector's weights start a 3-class training made by make_custom_config."""
import math
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmyoloms.apis.custom_data import make_custom_config
from mmyoloms.datasets import TRANSFER_CLASSES, generate_shapes_dataset
from ..conftest import REPO_ROOT

SHAPES_XS = osp.join(REPO_ROOT, 'configs', 'shapes',
                     'yoloms-xs_fast_1xb8-10e_shapes.py')


class _FirstIteration(Hook):
    """Keeps a copy of the model's state dict before the first update."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == 0:
            model = runner.model.module if is_model_wrapper(
                runner.model) else runner.model
            self.state = {
                k: v.detach().clone()
                for k, v in model.state_dict().items()
            }


def _five_class_checkpoint(path):
    """The 5-class shapes detector with every float tensor moved away from
    its initialisation (so that loading it is visible), saved as
    mmengine saves weights."""
    from mmyolo.registry import MODELS
    model = MODELS.build(Config.fromfile(SHAPES_XS).model)
    gen = torch.Generator().manual_seed(123)
    state = {
        k: v + 0.05 * torch.randn(v.shape, generator=gen)
        if v.is_floating_point() else v
        for k, v in model.state_dict().items()
    }
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), path)
    return state


def test_finetune_five_class_checkpoint_on_three_classes(tmp_path, capsys):
    from mmengine.runner import Runner
    ckpt = str(tmp_path / 'five.pth')
    source = _five_class_checkpoint(ckpt)
    assert source['bbox_head.head_module.rtm_cls.0.weight'].shape[0] == 5
    root = str(tmp_path / 'three')
    generate_shapes_dataset(root, num_train=6, num_val=3,
                            img_size_range=(64, 96), max_objects=3,
                            classes=TRANSFER_CLASSES, background='tiles',
                            progress=False)
    out = str(tmp_path / 'cfg' / 'finetune.py')
    made = make_custom_config(SHAPES_XS, root, out, load_from=ckpt,
                              epochs=1, batch_size=2, img_size=64)
    with open(out, 'w') as f:
        f.write(made.text)
    cfg = Config.fromfile(out)
    assert cfg.load_from == ckpt
    # test-only: no loader workers, float32, per-class AP
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].num_workers = 0
        cfg[name].persistent_workers = False
    cfg.optim_wrapper = dict(
        type='OptimWrapper', optimizer=cfg.optim_wrapper.optimizer)
    cfg.test_evaluator.classwise = True
    cfg.work_dir = str(tmp_path / 'work')
    cfg.randomness = dict(seed=0)
    cfg.default_hooks.logger.interval = 1

    runner = Runner.from_cfg(cfg)
    first = _FirstIteration()
    runner.register_hook(first, priority='LOWEST')
    runner.train()

    # every backbone and neck tensor is the checkpoint's at iteration 0
    kept = [k for k in first.state if k.startswith(('backbone.', 'neck.'))]
    assert len(kept) > 100
    for key in kept:
        assert torch.equal(first.state[key], source[key]), key
    # the classification layers have 3 outputs and their own init
    head = runner.model.bbox_head.head_module
    assert [conv.out_channels for conv in head.rtm_cls] == [3, 3, 3]
    cls_key = 'bbox_head.head_module.rtm_cls.0.weight'
    assert first.state[cls_key].shape[0] == 3
    # training ran: 6 images, batch 2, one epoch
    assert runner.iter == 3
    assert math.isfinite(
        runner.message_hub.get_scalar('train/loss').current())

    # the skipped layers are named in mmengine's warning (printed, not
    # logged), nothing else is
    log = capsys.readouterr().out
    # once for EMAHook's copy of the model, once for the model
    assert log.count(
        'The model and loaded state dict do not match exactly') == 2
    mismatches = [line for line in log.splitlines()
                  if line.startswith('size mismatch for')]
    assert mismatches
    assert all('bbox_head.head_module.rtm_cls' in line
               for line in mismatches), mismatches
    assert 'missing keys in source state_dict' not in log

    metrics = runner.test()
    for name in TRANSFER_CLASSES:
        assert f'coco/{name}_precision' in metrics
    assert 'coco/bbox_mAP' in metrics
