"""The inference entry points mmdet and mmyolo users already call work with
the detector configs here, on CPU: an image in; boxes, scores, labels and
the class names out; a drawn image written.

Entry points:

- ``mmdet.apis.init_detector`` + ``inference_detector``, with a visualizer
  built from the config's ``visualizer`` (mmyolo's ``demo/image_demo.py``),
  on every config below;
- ``mmdet.apis.DetInferencer`` (scope ``mmyolo``, or ``mmdet`` for the
  configs in ``configs/mmdet/``), writing ``vis/`` and ``preds/``, and
  this package's ``tools/demo.py`` path (:func:`mmyoloms.apis.init_backend`
  + :func:`mmyoloms.apis.detect_and_draw`), on one config per head and
  dataset.

Each config gets a checkpoint of seeded random weights whose ``meta``
holds the dataset's metainfo, as mmengine's runner saves it. The ablation
configs of ``configs/yoloms/ablations/`` are YOLO-MS-XS with one module
changed, built and run in ``tests/configs/test_ablation_configs.py``; of
``configs/mmdet/`` the YOLO-MS-S backbone in Faster R-CNN is run here (the
others are ResNet-50 detectors at 1333x800, several times slower on CPU).
"""
import copy
import json
import os
import os.path as osp
import warnings

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmyoloms.apis import detect_and_draw, init_backend
from ..conftest import REPO_ROOT

CONFIGS = [
    'yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py',
    'yoloms/yoloms-xs-se_syncbn_fast_8xb8-300e_coco.py',
    'yoloms/yoloms-s_syncbn_fast_8xb8-300e_coco.py',
    'yoloms/yoloms-s-se_syncbn_fast_8xb8-300e_coco.py',
    'yoloms/yoloms_syncbn_fast_8xb8-300e_coco.py',
    'yoloms/yoloms-se_syncbn_fast_8xb8-300e_coco.py',
    'yolov6_ms/yolov6-ms_t_syncbn_fast_8xb32-400e_coco.py',
    'yolov6_ms/yolov6-ms_t_syncbn_fast_8xb32-300e_coco.py',
    'yolov8_ms/yolov8-ms_n_syncbn_fast_8xb16-500e_coco.py',
    'shapes/yoloms-xs_fast_1xb8-10e_shapes.py',
    'shapes/yoloms-s_fast_1xb8-10e_shapes.py',
    'shapes/yolov8-ms_n_fast_1xb8-10e_shapes.py',
    'shapes/rtmdet-tiny_fast_1xb8-10e_shapes.py',
    'mmdet/faster-rcnn_yoloms-s_fpn_1x_coco.py',
]
# DetInferencer and tools/demo.py run the same init_detector and test
# pipeline; they are run on one config per head and dataset (a forward at
# 640x640 per entry point and config is what the test costs)
INFERENCER_CONFIGS = [
    'yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py',
    'yolov6_ms/yolov6-ms_t_syncbn_fast_8xb32-400e_coco.py',
    'yolov8_ms/yolov8-ms_n_syncbn_fast_8xb16-500e_coco.py',
    'shapes/yoloms-xs_fast_1xb8-10e_shapes.py',
    'mmdet/faster-rcnn_yoloms-s_fpn_1x_coco.py',
]
SHAPES_CLASSES = ('ellipse', 'triangle', 'rectangle', 'star', 'cross')
# the image every entry point sees: not square, so letterboxing and the
# mapping of boxes back to the image are exercised
HEIGHT, WIDTH = 120, 168


def _config(name: str) -> Config:
    """The config, with a cheaper candidate count for random weights.

    Untrained weights score every prior above the COCO evaluation
    threshold (0.001), so NMS would sort the full ``nms_pre`` (30000)
    candidates; 1000 keep the test fast and change nothing of the output
    format. The two-stage config's second stage drops random scores
    (about 1/81 each) below its 0.05 threshold, so it keeps all.
    """
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', name))
    test_cfg = cfg.model.test_cfg
    if 'nms_pre' in test_cfg:
        test_cfg.nms_pre = 1000
    if 'rcnn' in test_cfg:
        test_cfg.rcnn.score_thr = 0.0
    return cfg


def _dataset_meta(cfg: Config) -> dict:
    """The test dataset's metainfo, without reading its annotations."""
    from mmdet.registry import DATASETS
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset_cfg['lazy_init'] = True
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        meta = DATASETS.build(dataset_cfg).metainfo
    return dict(classes=list(meta['classes']), palette=meta.get('palette'))


def _positive_box_distances(model: torch.nn.Module) -> None:
    """Untrained distance regressors (RTMDet's ``rtm_reg``, YOLOv6's
    ``reg_preds``) also predict negative distances, i.e. inverted boxes,
    which mmengine's visualizer refuses (a trained model predicts none).
    Small weights and a positive bias give boxes of about a stride around
    every prior. YOLOv8's DFL and the R-CNN deltas cannot invert a box."""
    head = getattr(getattr(model, 'bbox_head', None), 'head_module', None)
    for name in ('rtm_reg', 'reg_preds'):
        for conv in getattr(head, name, []):
            if isinstance(conv, torch.nn.Conv2d):
                torch.nn.init.normal_(conv.weight, std=0.01)
                torch.nn.init.constant_(conv.bias, 1.0)


def _save_random_checkpoint(cfg: Config, path: str, meta: dict) -> None:
    """Seeded random weights, saved as mmengine's runner does (weights
    under ``state_dict``, the dataset's metainfo under ``meta``)."""
    from mmdet.registry import MODELS
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    _positive_box_distances(model)
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=meta)), path)


def _check_sample(sample, classes):
    """A DetDataSample with boxes in the image, scores and known labels."""
    from mmdet.structures import DetDataSample
    assert isinstance(sample, DetDataSample)
    pred = sample.pred_instances
    n = len(pred)
    assert n > 0
    assert pred.bboxes.shape == (n, 4)
    assert pred.scores.shape == (n, ) and pred.labels.shape == (n, )
    assert torch.all((pred.scores >= 0) & (pred.scores <= 1))
    assert torch.all((pred.labels >= 0) & (pred.labels < len(classes)))
    # in the image, up to the float rounding of the rescale (mmdet clips
    # R-CNN boxes to the resized image, then divides by the scale factor)
    boxes = pred.bboxes
    tol = 1e-3
    assert torch.all((boxes[:, 0::2] >= 0) & (boxes[:, 0::2] <= WIDTH + tol))
    assert torch.all((boxes[:, 1::2] >= 0) &
                     (boxes[:, 1::2] <= HEIGHT + tol))
    assert sample.ori_shape == (HEIGHT, WIDTH)


@pytest.fixture(scope='module')
def image_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    path = str(tmp_path_factory.mktemp('entry_points') / 'image.jpg')
    cv2.imwrite(path, image)
    return path


def test_every_detector_config_is_covered():
    """A new config in one of the detector folders must be added above."""
    found = set()
    for folder in ('yoloms', 'yolov6_ms', 'yolov8_ms', 'shapes'):
        root = osp.join(REPO_ROOT, 'configs', folder)
        found |= {
            f'{folder}/{name}'
            for name in os.listdir(root) if name.endswith('.py')
        }
    assert found <= set(CONFIGS), sorted(found - set(CONFIGS))


def _config_and_checkpoint(name: str, tmp_path):
    """The config, its dataset's metainfo and a random checkpoint."""
    cfg = _config(name)
    meta = _dataset_meta(cfg)
    if name.startswith('shapes/'):
        assert tuple(meta['classes']) == SHAPES_CLASSES
    else:
        assert len(meta['classes']) == 80 and meta['classes'][0] == 'person'
    checkpoint = str(tmp_path / 'model.pth')
    _save_random_checkpoint(cfg, checkpoint, meta)
    return cfg, meta, checkpoint


@pytest.mark.parametrize('name', CONFIGS)
def test_init_detector_inference_detector_and_visualizer(
        name, image_file, tmp_path):
    from mmdet.apis import inference_detector, init_detector
    from mmdet.registry import VISUALIZERS
    cfg, meta, checkpoint = _config_and_checkpoint(name, tmp_path)
    image = cv2.imread(image_file)

    # mmdet's init_detector / inference_detector, drawn as mmyolo's
    # demo/image_demo.py does
    model = init_detector(copy.deepcopy(cfg), checkpoint, device='cpu')
    assert model.dataset_meta['classes'] == meta['classes']
    # a file, as image_demo.py passes (tools/demo.py below passes arrays)
    sample = inference_detector(model, image_file)
    _check_sample(sample, meta['classes'])
    vis_cfg = copy.deepcopy(cfg.visualizer)
    vis_cfg.name = f'entry_points_{name}'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        visualizer = VISUALIZERS.build(vis_cfg)
    visualizer.dataset_meta = model.dataset_meta
    drawn_file = str(tmp_path / 'image_demo.jpg')
    visualizer.add_datasample(
        'image', image[..., ::-1], data_sample=sample, draw_gt=False,
        pred_score_thr=0.0, out_file=drawn_file)
    drawn = cv2.imread(drawn_file)
    assert drawn.shape == image.shape
    assert np.abs(drawn.astype(int) - image.astype(int)).max() > 100


@pytest.mark.parametrize('name', INFERENCER_CONFIGS)
def test_det_inferencer_and_demo(name, image_file, tmp_path):
    from mmdet.apis import DetInferencer
    cfg, meta, checkpoint = _config_and_checkpoint(name, tmp_path)
    image = cv2.imread(image_file)

    # mmdet's DetInferencer
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        inferencer = DetInferencer(
            model=copy.deepcopy(cfg), weights=checkpoint, device='cpu',
            scope=cfg.default_scope, show_progress=False)
    assert inferencer.model.dataset_meta['classes'] == meta['classes']
    out_dir = str(tmp_path / 'inferencer')
    result = inferencer(image_file, out_dir=out_dir, no_save_pred=False,
                        pred_score_thr=0.0)
    pred = result['predictions'][0]
    n = len(pred['scores'])
    assert n > 0 and len(pred['labels']) == n and len(pred['bboxes']) == n
    assert all(0 <= label < len(meta['classes']) for label in pred['labels'])
    with open(osp.join(out_dir, 'preds', 'image.json')) as f:
        assert json.load(f)['labels'] == pred['labels']
    assert cv2.imread(osp.join(out_dir, 'vis', 'image.jpg')).shape == \
        image.shape

    # tools/demo.py's path
    detector = init_backend('pytorch', copy.deepcopy(cfg), checkpoint)
    records = detect_and_draw(detector, [image_file],
                              str(tmp_path / 'demo'), score_thr=0.0,
                              log=lambda msg: None)
    detections = records[0]['detections']
    assert detections
    assert {d['class'] for d in detections} <= set(meta['classes'])
    assert cv2.imread(str(tmp_path / 'demo' / 'image.jpg')).shape == \
        image.shape


def test_demo_takes_class_names_from_the_config_without_checkpoint_meta(
        image_file, tmp_path):
    """A checkpoint without ``meta['dataset_meta']`` (converted weights, a
    bare ``torch.save`` of the state dict): mmdet falls back to COCO's 80
    names; the demo backend must name the 5 shapes classes of the config
    instead, and refuse names that cannot belong to the model."""
    from mmdet.registry import MODELS
    cfg = _config('shapes/yoloms-xs_fast_1xb8-10e_shapes.py')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    bare = str(tmp_path / 'bare.pth')
    torch.save(dict(state_dict=model.state_dict()), bare)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        detector = init_backend('pytorch', copy.deepcopy(cfg), bare)
    assert tuple(detector.dataset_meta['classes']) == SHAPES_CLASSES
    records = detect_and_draw(detector, [image_file], str(tmp_path / 'out'),
                              score_thr=0.0, log=lambda msg: None)
    assert {d['class'] for d in records[0]['detections']} <= set(
        SHAPES_CLASSES)

    # names of another dataset in the checkpoint, and none in the config
    # that fit the model's 5 classes
    wrong = str(tmp_path / 'wrong.pth')
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=['a', 'b']))), wrong)
    cfg.test_dataloader.dataset.metainfo = dict(classes=('x', 'y', 'z'))
    with pytest.raises(ValueError, match=r'5 classes.*wrong\.pth'):
        init_backend('pytorch', cfg, wrong)
