"""The sweep files in configs/sweeps: every run builds its config and its
model, and each override changes what the run's name says."""
import glob
import os.path as osp

import pytest
import torch.nn as nn

from mmyolo.models.backbones import CSPNeXt
from mmyolo.registry import MODELS
from mmyoloms.models.layers import MSBlock, Res2Block
from mmyoloms.models.necks import SMSL, YOLOMSPAFPN
from mmyoloms.models.plugins import MSFM
from mmyoloms.sweep import load_sweep_file
from ..conftest import REPO_ROOT

SWEEPS = osp.join(REPO_ROOT, 'configs', 'sweeps')
DEMO = load_sweep_file(osp.join(SWEEPS, 'shapes_demo.py'))
MODULES = load_sweep_file(osp.join(SWEEPS, 'shapes_modules.py'))


def _backbone_kernels(model):
    """The kernels of the backbone's MS-Blocks, identity branches left out."""
    return {k for m in model.backbone.modules() if isinstance(m, MSBlock)
            for k in m.kernel_sizes if k != 1}


def test_every_sweep_file_loads():
    files = sorted(glob.glob(osp.join(SWEEPS, '*.py')))
    assert [osp.basename(f) for f in files] == [
        'shapes_demo.py', 'shapes_modules.py', 'shapes_transfer.py']
    for path in files:
        for run in load_sweep_file(path):
            run.build_config()


def test_demo_runs_are_the_kernel_protocols():
    assert [r.name for r in DEMO] == [
        'yoloms-xs-k3579', 'yoloms-xs-k3333', 'yoloms-xs-k9999'
    ]


def test_modules_sweep_shares_the_demo_setting():
    assert [r.name for r in MODULES] == [
        'yoloms-xs-k3579', 'yoloms-xs-res2block', 'yoloms-xs-msfm',
        'yoloms-xs-smsl', 'rtmdet-tiny'
    ]
    # same reference, data, input size and schedule as the demo sweep, so
    # both tables compare against the same YOLO-MS-XS
    cfgs = [run.build_config() for run in MODULES]
    assert cfgs[0].to_dict() == DEMO[0].build_config().to_dict()
    for cfg in cfgs:
        assert cfg.img_scale == (160, 160)
        assert cfg.train_dataloader.dataset.data_root == 'data/shapes/'
        assert cfg.val_dataloader is None


@pytest.mark.parametrize(
    'run', DEMO + MODULES[1:], ids=[r.name for r in DEMO + MODULES[1:]])
def test_sweep_run_builds_what_its_name_says(run):
    cfg = run.build_config()
    model = MODELS.build(cfg.model)
    blocks = {type(m) for m in model.modules()}
    if run.name == 'rtmdet-tiny':
        assert isinstance(model.backbone, CSPNeXt)
        assert MSBlock not in blocks
        return
    expected_kernels = dict(
        k3333={3}, k9999={9}).get(run.name.split('-')[-1], {3, 5, 7, 9})
    if run.name.endswith('res2block'):
        # Res2Block in backbone and neck, no MS-Block left
        assert Res2Block in blocks and MSBlock not in blocks
    else:
        assert _backbone_kernels(model) == expected_kernels
    assert (MSFM in blocks) == run.name.endswith('msfm')
    if run.name.endswith('smsl'):
        assert isinstance(model.neck, nn.Sequential)
        assert [type(m) for m in model.neck] == [YOLOMSPAFPN, SMSL]
    else:
        assert isinstance(model.neck, YOLOMSPAFPN)
