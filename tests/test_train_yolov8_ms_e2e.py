"""YOLOv8-MS-n trains: tools/train.py runs the shapes config for a few
iterations on a tiny generated dataset, validates and checkpoints."""
import math
import os
import os.path as osp
import re
import subprocess
import sys

import torch
from mmengine.config import Config

from mmyolo.registry import MODELS
from .conftest import REPO_ROOT
from .shapes_utils import make_tiny_shapes, tiny_shapes_config

CONFIG = osp.join(REPO_ROOT, 'configs', 'shapes',
                  'yolov8-ms_n_fast_1xb8-10e_shapes.py')


def test_yolov8_ms_trains_validates_and_checkpoints(tmp_path):
    data = make_tiny_shapes(str(tmp_path / 'shapes'), num_train=8,
                            num_val=4)
    config = tiny_shapes_config(data, str(tmp_path / 'cfg.py'),
                                max_epochs=1, base=CONFIG)
    work = str(tmp_path / 'work')
    env = dict(os.environ, OMP_NUM_THREADS='2', PYTHONWARNINGS='ignore')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', work],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    # 8 images, batch 2: 4 iterations, each with YOLOv8's three losses
    assert 'Epoch(train) [1][4/4]' in log
    for name in ('loss_cls', 'loss_bbox', 'loss_dfl'):
        values = [float(v) for v in re.findall(rf'{name}: ([-\d.e+]+|nan)',
                                               log)]
        assert len(values) == 4, name
        assert all(math.isfinite(v) and v > 0 for v in values), values
    assert 'coco/bbox_mAP' in log
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=False)
    model = MODELS.build(Config.fromfile(CONFIG).model)
    assert {k: v.shape for k, v in ckpt['state_dict'].items()} == {
        k: v.shape for k, v in model.state_dict().items()}
    assert type(model.backbone).__name__ == 'YOLOv8MSBackbone'
    assert model.bbox_head.num_classes == 5
