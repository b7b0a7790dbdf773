"""mmyoloms.analysis: one counter of params and FLOPs for mmyolo and mmdet
detectors (two-stage ones included)."""
import os.path as osp

import pytest
import torch
import torch.nn as nn

from mmyoloms.analysis import get_complexity
from mmyoloms.deploy import build_detector
from .conftest import REPO_ROOT

XS = osp.join(REPO_ROOT, 'configs', 'yoloms',
              'yoloms-xs_syncbn_fast_8xb8-300e_coco.py')
FASTER_RCNN = osp.join(REPO_ROOT, 'configs', 'mmdet',
                       'faster-rcnn_yoloms-s_fpn_1x_coco.py')


def test_yoloms_xs_matches_the_reference_figures():
    model = build_detector(XS, calibrate=False)
    model.train()
    info = get_complexity(model, (640, 640))
    # DESIGN.md: mmengine's count of the official YOLO-MS-XS
    assert info['params'] == 4_493_932
    assert round(info['flops'] / 1e9, 3) == 8.739
    assert info['params_str'] == '4.494 M' and info['flops_str'] == '8.739 G'
    assert model.training  # the caller's mode is restored


def test_mmdet_two_stage_detector_from_its_config():
    """Faster R-CNN (mmdet scope) needs image metadata in its forward; the
    count runs its RPN and RoI head and repeats exactly."""
    state = torch.random.get_rng_state()
    model = build_detector(FASTER_RCNN, calibrate=False)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert type(model).__name__ == 'FasterRCNN'
    assert type(model).__module__.startswith('mmdet.')
    assert not model.training
    info = get_complexity(FASTER_RCNN, (320, 320))
    assert info['params'] == 22_185_886  # the 640 count of the README table
    assert info == get_complexity(model, (320, 320))
    # the backbone alone is counted where the detector is
    backbone = get_complexity(_Only(model.backbone), (320, 320))
    assert 0 < backbone['flops'] < info['flops']


class _Only(nn.Module):
    """A module with the detector's ``_forward`` API around a backbone."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def _forward(self, images, data_samples=None):
        return self.backbone(images)


@pytest.mark.parametrize('shape', [(640, ), (0, 640), (640.0, 640),
                                   (True, 640)])
def test_bad_shapes(shape):
    with pytest.raises(ValueError, match='shape'):
        get_complexity(nn.Identity(), shape)


def test_a_module_without_detector_forward():
    with pytest.raises(ValueError, match='_forward'):
        get_complexity(nn.Conv2d(3, 8, 3), (32, 32))


def test_config_without_model(tmp_path):
    path = tmp_path / 'empty.py'
    path.write_text('x = 1\n')
    with pytest.raises(ValueError, match='no `model`'):
        build_detector(str(path))
