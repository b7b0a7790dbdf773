"""Tiny shapes datasets and CPU configs for the demo-flow tests."""
import os.path as osp

from mmyoloms.datasets import generate_shapes_dataset
from .conftest import REPO_ROOT

SHAPES_CONFIG = osp.join(REPO_ROOT, 'configs', 'shapes',
                         'yoloms-xs_fast_1xb8-10e_shapes.py')


def make_tiny_shapes(root: str, num_train: int = 8, num_val: int = 4,
                     seed: int = 0) -> str:
    """Write a tiny shapes dataset (64-128 px images) under ``root``."""
    generate_shapes_dataset(root, num_train=num_train, num_val=num_val,
                            seed=seed, img_size_range=(64, 128),
                            max_objects=3, progress=False)
    return root


def tiny_shapes_config(data_root: str, path: str, max_epochs: int = 1,
                       batch_size: int = 2, base: str = SHAPES_CONFIG,
                       extra: str = '', bf16: bool = False) -> str:
    """Write a config that inherits the demo config and trains it on the
    tiny dataset at ``data_root`` (no workers, a checkpoint every epoch);
    return ``path``.

    The demo config autocasts to bfloat16 where the CPU has native bf16
    instructions; unless ``bf16`` is True the tiny config trains in float32
    (the fused AdamW kept), so that a test's trained model is the same on
    CPUs with and without them (tests/engine/test_optim_wrapper.py covers
    the bf16 path)."""
    data_root = data_root.rstrip('/') + '/'
    text = f'''
_base_ = {base!r}
data_root = {data_root!r}
train_dataloader = dict(
    batch_size={batch_size}, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size={batch_size}, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs={max_epochs}, val_interval={max_epochs})
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=5),
    logger=dict(interval=1))
{'' if bf16 else "optim_wrapper = dict(type='OptimWrapper')"}
{extra}
'''
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return path
