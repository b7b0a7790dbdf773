"""YOLOv6-MS-t and YOLOv8-MS-n deployed: RepVGG re-parameterisation and BN
folding keep the outputs, and the ONNX graph with NMS gives PyTorch's
detections in onnxruntime and OpenVINO (mmyolo's YOLOv6/YOLOv8 heads: point
priors with offset 0.5, YOLOv8's distribution-integral box branch)."""
import copy

import onnx
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmyolo.models.layers import RepVGGBlock
from mmyoloms.deploy import (OUTPUT_NAMES, End2EndDetector, ORTDetector,
                             OVDetector, build_detector, build_test_pipeline,
                             calibrate_batch_norms, deploy_model,
                             export_onnx, nms_settings)
from .helpers import (isolated_detections, match_detections, random_image,
                      randomize_batch_norms)

V6 = 'configs/yolov6_ms/yolov6-ms_t_syncbn_fast_8xb32-400e_coco.py'
V8 = 'configs/yolov8_ms/yolov8-ms_n_syncbn_fast_8xb16-500e_coco.py'
SHAPE = (160, 160)


def _spread_head_outputs(model, generator):
    """Logits around -2 +- 0.5 and box distances of a few strides (a fresh
    head predicts one constant score everywhere, so NMS would have nothing
    to do)."""
    head = model.bbox_head.head_module
    with torch.no_grad():
        if hasattr(head, 'reg_max') and head.reg_max > 1:  # YOLOv8
            cls_convs = [branch[-1] for branch in head.cls_preds]
            for branch in head.reg_preds:
                conv = branch[-1]
                conv.weight.copy_(
                    torch.randn(conv.weight.shape, generator=generator) *
                    0.05)
                # each side's distribution peaks near 2.5 bins (strides)
                bins = torch.arange(head.reg_max, dtype=torch.float32)
                conv.bias.copy_((-(bins - 2.5).abs() * 2).repeat(4))
        else:  # YOLOv6: distances predicted directly
            cls_convs = list(head.cls_preds)
            for conv in head.reg_preds:
                conv.weight.copy_(
                    torch.randn(conv.weight.shape, generator=generator) *
                    0.05)
                conv.bias.fill_(1.5)
        for conv in cls_convs:
            conv.weight.copy_(
                torch.randn(conv.weight.shape, generator=generator) * 0.05)
            conv.bias.fill_(-2.)


def _scene(config):
    image = random_image(120, 160)
    model = build_detector(config)
    randomize_batch_norms(model)
    pipeline = build_test_pipeline(model.cfg, SHAPE)
    data = pseudo_collate([pipeline(dict(img=image, img_id=0))])
    calibrate_batch_norms(model, model.data_preprocessor(data,
                                                         False)['inputs'])
    _spread_head_outputs(model, torch.Generator().manual_seed(1))
    model.bbox_head.test_cfg.score_thr = 0.3
    model.eval()
    return image, model, data


@pytest.mark.parametrize('config', [V6, V8])
def test_deploy_mode_equals_eager(config):
    """Deploy mode (RepVGG branches merged into one conv, BN folded, MS-Block
    slicing removed) is exact algebra: in float64 the head outputs equal
    the eager model's to 1e-9."""
    _, model, data = _scene(config)
    inputs = model.data_preprocessor(copy.deepcopy(data),
                                     False)['inputs'].double()
    eager = copy.deepcopy(model).double()
    deployed = deploy_model(copy.deepcopy(eager), channels_last=False)
    reps = [m for m in deployed.modules() if isinstance(m, RepVGGBlock)]
    if config == V6:
        assert len(reps) == 1  # the stem
        assert hasattr(reps[0], 'rbr_reparam')
        assert not hasattr(reps[0], 'rbr_dense')
        assert not hasattr(reps[0], 'rbr_1x1')
    else:
        assert reps == []
    assert not any(
        isinstance(m, torch.nn.BatchNorm2d) for m in deployed.modules())
    with torch.no_grad():
        expected = eager._forward(inputs)
        got = deployed._forward(inputs)
    for level_a, level_b in zip(got, expected):
        for a, b in zip(level_a, level_b):
            assert (a - b).abs().max().item() < 1e-9


@pytest.fixture(scope='module', params=[V6, V8], ids=['yolov6-ms-t',
                                                     'yolov8-ms-n'])
def exported(request, tmp_path_factory):
    """The scene's detector in deploy mode exported with NMS, and the eager
    model's detections on the scene's image."""
    config = request.param
    image, model, data = _scene(config)
    with torch.no_grad():
        reference = model.test_step(copy.deepcopy(data))[0].pred_instances
    deployed = deploy_model(copy.deepcopy(model), channels_last=False)
    e2e = End2EndDetector(deployed, **nms_settings(model.bbox_head.test_cfg))
    onnx_file = export_onnx(
        e2e, str(tmp_path_factory.mktemp('family') / 'model.onnx'), SHAPE)
    return dict(config=config, image=image, reference=reference,
                onnx=onnx_file,
                iou_thr=model.bbox_head.test_cfg.nms.iou_threshold)


def test_onnxruntime_detections_equal_pytorch_predict(exported):
    graph = onnx.load(exported['onnx']).graph
    assert 'NonMaxSuppression' in {node.op_type for node in graph.node}
    assert [o.name for o in graph.output] == list(OUTPUT_NAMES)

    detector = ORTDetector(exported['onnx'], exported['config'],
                           num_threads=2)
    result = detector([exported['image']])[0]
    pred, reference = result.pred_instances, exported['reference']
    assert result.ori_shape == (120, 160)
    assert len(reference) > 20  # NMS had real work
    assert len(pred) == len(reference)
    assert match_detections(pred, reference, box_tol=1.0,
                            score_tol=1e-3) == len(reference)


def test_openvino_detections_equal_pytorch_predict(exported):
    """The same graph on OpenVINO (float32 set explicitly): the detections
    clear of same-label neighbours match the eager model's one-to-one."""
    detector = OVDetector(exported['onnx'], exported['config'],
                          num_threads=2)
    pred = detector([exported['image']])[0].pred_instances
    reference = exported['reference']
    ref_clear = isolated_detections(reference, exported['iou_thr'])
    pred_clear = isolated_detections(pred, exported['iou_thr'])
    assert len(ref_clear) > 5
    assert match_detections(ref_clear, pred, box_tol=1.0,
                            score_tol=1e-3) == len(ref_clear)
    assert match_detections(pred_clear, reference, box_tol=1.0,
                            score_tol=1e-3) == len(pred_clear)
