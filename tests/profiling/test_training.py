"""tools/profile_train.py's logic: phases of a training iteration, the
per-operator breakdown, and side-by-side comparison of configs."""
import copy

import pytest
from mmengine.config import Config

from mmyoloms.profiling import (PHASES, compare_training_speed,
                                format_training_comparison,
                                format_training_profile, profile_training)
from ..shapes_utils import make_tiny_shapes, tiny_shapes_config


@pytest.fixture(scope='module')
def tiny_cfg(tmp_path_factory):
    root = tmp_path_factory.mktemp('profile')
    data = make_tiny_shapes(str(root / 'data'), num_train=8, num_val=4)
    return Config.fromfile(
        tiny_shapes_config(data, str(root / 'cfg.py'), batch_size=2))


@pytest.fixture(scope='module')
def profile(tiny_cfg):
    return profile_training(tiny_cfg, iters=2, warmup=1, op_iters=1,
                            val_images=2)


def test_profile_phases_add_up(profile):
    assert profile['iters'] == 2 and profile['batch_size'] == 2
    phases = profile['phases']
    for key, _ in PHASES:
        assert key in phases, key
    # the assigner, the EMA update and backward ran and were timed
    assert phases['assigner'] > 0 and phases['backward'] > 0
    assert phases['hook: EMAHook.after_train_iter'] > 0
    # each iteration is split without overlap: the exclusive phase times
    # (medians here) are each below the median iteration
    assert all(v <= phases['iteration'] for v in phases.values())
    assert len(profile['iteration_seconds']) == 2
    assert profile['images_per_s'] == pytest.approx(
        2 * 2 / sum(profile['iteration_seconds']))
    assert profile['val_seconds_per_image'] > 0


def test_profile_operators_by_phase(profile):
    ops = profile['ops']
    assert set(ops) == {'forward', 'assigner + loss', 'backward',
                        'optimizer'}
    forward = {name for name, _, _ in ops['forward']}
    backward = {name for name, _, _ in ops['backward']}
    assert 'aten::mkldnn_convolution' in forward
    assert 'aten::convolution_backward' in backward
    assert 'aten::convolution_backward' not in forward
    text = format_training_profile(profile)
    assert '| forward: backbone |' in text and '**backward**' in text


def test_profile_bad_arguments(tiny_cfg, tmp_path):
    with pytest.raises(ValueError, match='iters must be >= 1'):
        profile_training(tiny_cfg, iters=0)
    with pytest.raises(ValueError, match='fewer than the 12 asked for'):
        profile_training(tiny_cfg, iters=10, warmup=2, op_iters=0)
    missing = copy.deepcopy(tiny_cfg)
    missing.train_dataloader.dataset.data_root = str(tmp_path) + '/'
    with pytest.raises(FileNotFoundError, match='generate_shapes.py'):
        profile_training(missing, iters=1)


def test_compare_training_speed(tiny_cfg):
    other = copy.deepcopy(tiny_cfg)
    # the demo config's AdamW is fused; foreach excludes it
    other.optim_wrapper.optimizer.update(fused=None, foreach=True)
    results = compare_training_speed(
        dict(reference=tiny_cfg, foreach=other), rounds=1, iters=1,
        warmup=1)
    assert list(results) == ['reference', 'foreach']
    assert results['reference']['ratio'] == 1.0
    for res in results.values():
        assert len(res['rounds']) == 1 and res['images_per_s'] > 0
    assert '| foreach |' in format_training_comparison(results)
    with pytest.raises(ValueError, match='at least one config'):
        compare_training_speed({})
