"""tools/demo.py: image files or a folder + config + checkpoint -> drawn
images and a JSON of detections."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import pytest
import torch
from mmengine.config import Config

from mmyolo.registry import MODELS
from mmyoloms.datasets import SHAPES_METAINFO
from ..conftest import REPO_ROOT
from ..deploy.helpers import detector_with_detections, match_detections
from ..shapes_utils import SHAPES_CONFIG, make_tiny_shapes


def _save_shapes_checkpoint(model, path):
    """``model`` as a checkpoint with the shapes classes and palette."""
    torch.save(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dict(
                 classes=list(SHAPES_METAINFO['classes']),
                 palette=SHAPES_METAINFO['palette']))), path)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """An untrained YOLO-MS-XS shapes model saved as mmengine does, its box
    branch set to predict a 4-stride box around every prior (untrained
    weights also regress inverted boxes, which the demo leaves out)."""
    root = tmp_path_factory.mktemp('demo_ckpt')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(SHAPES_CONFIG).model)
    for conv in model.bbox_head.head_module.rtm_reg:
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.constant_(conv.bias, 2.0)
    path = str(root / 'model.pth')
    _save_shapes_checkpoint(model, path)
    return path


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    root = make_tiny_shapes(str(tmp_path_factory.mktemp('demo_data')),
                            num_train=3, num_val=1)
    return osp.join(root, 'train')


def _demo(*args):
    return subprocess.run([sys.executable, 'tools/demo.py', *args],
                          cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=180,
                          env=dict(os.environ, PYTHONWARNINGS='ignore'))


def test_demo_on_folder_and_file(checkpoint, images, tmp_path):
    single = str(tmp_path / 'single.png')
    shutil.copy(osp.join(images, '000000.jpg'), str(tmp_path / 'a.jpg'))
    cv2.imwrite(single, cv2.imread(str(tmp_path / 'a.jpg')))
    out = str(tmp_path / 'out')
    # an untrained model scores about 0.01: a low threshold keeps boxes
    proc = _demo(SHAPES_CONFIG, checkpoint, images, single, '--out-dir', out,
                 '--score-thr', '0.005')
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(osp.join(out, 'detections.json')) as f:
        results = json.load(f)
    expected = sorted(os.listdir(images)) + ['single.png']
    assert [osp.basename(r['image']) for r in results] == expected
    for result in results:
        img = cv2.imread(result['image'])
        assert (result['height'], result['width']) == img.shape[:2]
        drawn = cv2.imread(
            osp.join(out,
                     osp.splitext(osp.basename(result['image']))[0] + '.jpg'))
        assert drawn.shape == img.shape
        assert len(result['detections']) > 0
        for det in result['detections']:
            x1, y1, x2, y2 = det['bbox']
            assert 0 <= x1 < x2 <= result['width']
            assert 0 <= y1 < y2 <= result['height']
            assert det['score'] >= 0.005
            assert det['class'] == SHAPES_METAINFO['classes'][det['label']]
        # boxes were drawn onto the image
        assert cv2.absdiff(drawn, img).mean() > 0.5


def test_demo_threshold_filters(checkpoint, images, tmp_path):
    out = str(tmp_path / 'out')
    proc = _demo(SHAPES_CONFIG, checkpoint, osp.join(images, '000001.jpg'),
                 '--out-dir', out, '--score-thr', '0.99')
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(osp.join(out, 'detections.json')) as f:
        results = json.load(f)
    assert len(results) == 1 and results[0]['detections'] == []


@pytest.mark.parametrize('bad, message', [
    ('missing.jpg', 'input missing.jpg does not exist'),
    ('empty_dir', 'no image files found'),
    ('not_image.jpg', 'not_image.jpg is not a readable image'),
])
def test_demo_bad_inputs(checkpoint, tmp_path, bad, message):
    os.makedirs(tmp_path / 'empty_dir')
    (tmp_path / 'not_image.jpg').write_text('text')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'demo.py'),
         SHAPES_CONFIG, checkpoint, bad, '--out-dir',
         str(tmp_path / 'out')],
        cwd=str(tmp_path), capture_output=True, text=True, timeout=180,
        env=dict(os.environ, PYTHONWARNINGS='ignore'))
    assert proc.returncode != 0
    assert message in proc.stderr


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_demo_deployed_backend_matches_pytorch(images, tmp_path, backend):
    """tools/export_onnx.py then tools/demo.py --backend onnxruntime /
    openvino draws the same detections as the PyTorch backend."""
    image = osp.join(images, '000000.jpg')
    # distinct scores and valid boxes (a fresh head scores every prior alike)
    model, _ = detector_with_detections(SHAPES_CONFIG, cv2.imread(image),
                                        (256, 256))
    checkpoint = str(tmp_path / 'model.pth')
    _save_shapes_checkpoint(model, checkpoint)
    onnx_file = str(tmp_path / 'model.onnx')
    export = subprocess.run(
        [sys.executable, 'tools/export_onnx.py', SHAPES_CONFIG, checkpoint,
         '--out', onnx_file, '--shape', '256', '256'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONWARNINGS='ignore'))
    assert export.returncode == 0, export.stderr[-3000:]
    outs = {}
    for name, ckpt in (('pytorch', checkpoint), (backend, onnx_file)):
        out = str(tmp_path / name)
        proc = _demo(SHAPES_CONFIG, ckpt, image, '--out-dir', out,
                     '--score-thr', '0.1', '--backend', name)
        assert proc.returncode == 0, proc.stderr[-3000:]
        with open(osp.join(out, 'detections.json')) as f:
            outs[name] = json.load(f)[0]['detections']
        assert osp.isfile(osp.join(out, '000000.jpg'))
    ref, got = (as_instances(outs[b]) for b in ('pytorch', backend))
    assert len(ref.scores) > 0 and len(got.scores) == len(ref.scores)
    # one-to-one: same label, boxes within 1 px, scores within 1e-3 (the
    # order of near-equal scores may differ between the backends)
    assert match_detections(got, ref) == len(ref.scores)


def as_instances(detections):
    from mmengine.structures import InstanceData
    return InstanceData(
        bboxes=torch.tensor([d['bbox'] for d in detections]),
        scores=torch.tensor([d['score'] for d in detections]),
        labels=torch.tensor([d['label'] for d in detections]))


def test_demo_deployed_backend_needs_exported_file(checkpoint, images,
                                                   tmp_path):
    for backend in ('onnxruntime', 'openvino'):
        proc = _demo(SHAPES_CONFIG, checkpoint, images, '--out-dir',
                     str(tmp_path / 'out'), '--backend', backend)
        assert proc.returncode != 0
        assert 'needs the .onnx file' in proc.stderr
    proc = _demo(SHAPES_CONFIG, checkpoint, images, '--out-dir',
                 str(tmp_path / 'out'), '--backend', 'tensorrt')
    assert proc.returncode != 0
    assert "invalid choice: 'tensorrt'" in proc.stderr
