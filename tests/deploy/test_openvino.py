import glob
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from mmyoloms.apis import init_backend
from mmyoloms.deploy import (End2EndDetector, ORTDetector, OVDetector,
                             build_detector, compile_openvino,
                             convert_to_openvino, deploy_model, export_onnx,
                             nms_settings)

from .helpers import isolated_detections, match_detections

KEEP_TOPK = 100  # detections per image that the exported graph keeps


@pytest.fixture(scope='module')
def exported(trained_shapes, tmp_path_factory):
    """The trained checkpoint exported with NMS (scores above 0.05, at most
    KEEP_TOPK detections per image)."""
    model = build_detector(trained_shapes['config'],
                           trained_shapes['checkpoint'])
    settings = nms_settings(model.bbox_head.test_cfg, score_thr=0.05,
                            keep_topk=KEEP_TOPK)
    out = str(tmp_path_factory.mktemp('ov') / 'model.onnx')
    export_onnx(End2EndDetector(deploy_model(model, channels_last=False),
                                **settings), out, trained_shapes['shape'])
    return out


def _val_images(trained_shapes):
    return sorted(
        glob.glob(osp.join(trained_shapes['data_root'], 'val', '*.jpg')))


def test_openvino_equals_onnxruntime_on_trained_checkpoint(
        trained_shapes, exported):
    config = trained_shapes['config']
    ort = ORTDetector(exported, config, num_threads=2)
    ov = OVDetector(exported, config, num_threads=2)
    assert ov.shape == ort.shape == trained_shapes['shape']
    assert ov.dataset_meta['classes'] == ort.dataset_meta['classes']
    iou_thr = Config.fromfile(config).model.test_cfg.nms.iou_threshold
    total = 0
    for image in _val_images(trained_shapes):
        ref = ort([image])[0].pred_instances
        pred = ov([image])[0].pred_instances
        # Detections clear of any same-label neighbour on their side (see
        # isolated_detections) must be on both sides, one-to-one: same
        # label, box within 1 px, score within 1e-3.
        ref_clear = isolated_detections(ref, iou_thr)
        pred_clear = isolated_detections(pred, iou_thr)
        assert match_detections(ref_clear, pred, box_tol=1.0,
                                score_tol=1e-3) == len(ref_clear)
        assert match_detections(pred_clear, ref, box_tol=1.0,
                                score_tol=1e-3) == len(pred_clear)
        total += len(ref_clear)
    # the briefly trained model detects; most of its KEEP_TOPK detections
    # per image are border-clipped clusters, some dozens are clear of them
    assert total > 20


def test_ir_keeps_float32_weights_and_outputs(trained_shapes, exported,
                                              tmp_path):
    import openvino as ov
    xml = convert_to_openvino(exported, str(tmp_path / 'model.xml'))
    assert osp.isfile(xml[:-4] + '.bin')
    types = {
        op.get_output_element_type(0).get_type_name()
        for op in ov.Core().read_model(xml).get_ordered_ops()
        if op.get_type_name() == 'Constant'
    }
    assert 'f32' in types and 'f16' not in types
    image = _val_images(trained_shapes)[5]
    config = trained_shapes['config']
    from_onnx = OVDetector(exported, config)
    from_ir = OVDetector(xml, config)
    inputs, _ = from_onnx.preprocess([image])
    a, b = from_onnx.run(inputs.numpy()), from_ir.run(inputs.numpy())
    assert a[0].tolist() == b[0].tolist()
    n = int(a[0][0, 0])
    np.testing.assert_allclose(a[2][0, :n], b[2][0, :n], atol=1e-5)
    with pytest.raises(ValueError, match='must end with .xml'):
        convert_to_openvino(exported, str(tmp_path / 'model.ir'))


def test_openvino_bad_inputs(trained_shapes, exported, tmp_path):
    config = trained_shapes['config']
    with pytest.raises(FileNotFoundError, match='model file not found'):
        OVDetector(str(tmp_path / 'missing.onnx'), config)
    with pytest.raises(ValueError, match=r'exported for input \(H, W\)'):
        OVDetector(exported, config, shape=(320, 320))
    detector = OVDetector(exported, config, num_threads=1)
    with pytest.raises(ValueError, match='was exported for input'):
        detector.run(np.zeros((1, 3, 320, 320), np.float32))
    with pytest.raises(ValueError, match='takes batches of 1'):
        detector.run(np.zeros((2, 3, 128, 128), np.float32))
    with pytest.raises(ValueError, match='precision must be one of'):
        compile_openvino(exported, precision='int4')
    with pytest.raises(ValueError, match='hint must be one of'):
        compile_openvino(exported, hint='FAST')
    with pytest.raises(ValueError, match='num_threads'):
        compile_openvino(exported, num_threads=0)


def test_backends_by_name(trained_shapes, exported, tmp_path):
    config = trained_shapes['config']
    import mmcv
    ov = init_backend('openvino', config, exported, num_threads=2)
    ort = init_backend('onnxruntime', config, exported, num_threads=2)
    # the first val image on which the briefly trained model detects
    # anything above the exported score threshold
    for image in _val_images(trained_shapes):
        bgr = mmcv.imread(image)
        ref = ort(bgr).pred_instances
        if len(ref):
            break
    assert len(ref) > 0, 'no val image with a detection'
    pred = ov(bgr).pred_instances
    assert len(pred) == len(ref)
    assert match_detections(pred, ref) == len(ref)
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        init_backend('tensorrt', config, exported)
    with pytest.raises(FileNotFoundError, match='model file not found'):
        init_backend('openvino', config, str(tmp_path / 'missing.xml'))
    with pytest.raises(ValueError, match='needs the .onnx file'):
        init_backend('onnxruntime', config, trained_shapes['checkpoint'])
    with pytest.raises(ValueError, match='runs on cpu'):
        init_backend('openvino', config, exported, device='cuda:0')
    with pytest.raises(ValueError, match=r'needs a checkpoint \(.pth\)'):
        init_backend('pytorch', config, exported)
