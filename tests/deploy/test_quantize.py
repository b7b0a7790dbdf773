import json
import os.path as osp
import types

import numpy as np
import onnx
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config

from mmyoloms.deploy import (CalibrationInputs, ORTDetector, OVDetector,
                             calibration_indices, calibration_inputs,
                             quantize_model)
from mmyoloms.deploy.quantize import (_Reader, decoding_node_names,
                                      prediction_conv_names)

from .test_export import _load_tool

SHAPE = (128, 128)
# the first line of pycocotools' summary, once per evaluation
COCO_SUMMARY = 'Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all'


@pytest.fixture(scope='module')
def int8_models(trained_shapes, tmp_path_factory):
    """tools/export_onnx.py on the trained checkpoint: the float graph and
    its INT8 models for OpenVINO (NNCF) and onnxruntime (QDQ)."""
    out = tmp_path_factory.mktemp('int8')
    tool = _load_tool('export_onnx')
    files = dict(onnx=str(out / 'model.onnx'), xml=str(out / 'int8.xml'),
                 qdq=str(out / 'int8.onnx'))
    common = [trained_shapes['config'], trained_shapes['checkpoint'],
              '--out', files['onnx'], '--shape', '128', '128',
              '--calib-images', '6']
    tool.main(common + ['--int8', files['xml']])
    quantize_model(files['onnx'], files['qdq'], trained_shapes['config'], 6)
    return files


def test_calibration_indices_spread_over_the_dataset():
    """One index drawn from each of N equal strata of the dataset: the
    whole dataset is covered, the same seed gives the same draw."""
    indices = calibration_indices(16, 4, seed=0)
    assert [i // 4 for i in indices] == [0, 1, 2, 3]
    assert calibration_indices(16, 4, seed=0) == indices
    draws = {tuple(calibration_indices(1000, 10, seed=s)) for s in range(5)}
    assert len(draws) == 5  # the seed changes the draw
    for draw in draws:
        assert [i // 100 for i in draw] == list(range(10))
    for seed in range(20):  # uneven strata: [0, 3), [3, 6), [6, 10)
        first, second, third = calibration_indices(10, 3, seed=seed)
        assert 0 <= first < 3 <= second < 6 <= third < 10
    assert calibration_indices(7, 7, seed=3) == list(range(7))
    with pytest.raises(ValueError, match='the dataset has 7'):
        calibration_indices(7, 8)
    with pytest.raises(ValueError, match='num_images must be an int >= 1'):
        calibration_indices(7, 0)


def test_calibration_inputs_are_read_one_at_a_time():
    """Calibration streams: nothing is read until iterated, one image per
    step (a generator, not a list), anew on every pass; onnxruntime's
    reader pulls them one by one too."""
    reads = []

    class Dataset:

        def __getitem__(self, index):
            reads.append(index)
            return dict(inputs=torch.full((3, 2, 2), index,
                                          dtype=torch.uint8),
                        data_samples=DetDataSample())

    def preprocessor(data, training):
        return dict(inputs=torch.stack(data['inputs']).float())

    inputs = CalibrationInputs(Dataset(), [5, 1, 9], preprocessor)
    assert len(inputs) == 3 and reads == []
    stream = iter(inputs)
    assert isinstance(stream, types.GeneratorType)
    first = next(stream)
    assert reads == [5]
    assert first.shape == (1, 3, 2, 2) and first.dtype == np.float32
    assert [int(x.max()) for x in stream] == [1, 9]
    assert [int(x.max()) for x in inputs] == [5, 1, 9]
    assert reads == [5, 1, 9, 5, 1, 9]
    reads.clear()
    reader = _Reader(inputs, 'images')
    assert reads == []
    assert list(reader.get_next()) == ['images'] and reads == [5]


def test_calibration_inputs(trained_shapes):
    config = trained_shapes['config']
    inputs = calibration_inputs(config, 3, (128, 160), seed=1)
    assert not isinstance(inputs, (list, tuple))
    assert len(inputs) == 3
    assert inputs.indices == calibration_indices(16, 3, seed=1)
    # each input is the image through the config's test pipeline (resized
    # and letterboxed to 128 x 160, uint8) and data preprocessor (its mean
    # and std, BGR kept), not raw pixels
    preprocessor = Config.fromfile(config).model.data_preprocessor
    assert not preprocessor.get('bgr_to_rgb', False)
    mean = np.array(preprocessor.mean, np.float32)[:, None, None]
    std = np.array(preprocessor.std, np.float32)[:, None, None]
    for index, x in zip(inputs.indices, inputs):
        assert x.shape == (1, 3, 128, 160) and x.dtype == np.float32
        packed = inputs.dataset[index]['inputs'].numpy()
        assert packed.dtype == np.uint8 and packed.shape == (3, 128, 160)
        np.testing.assert_allclose(x[0], (packed - mean) / std, rtol=1e-5,
                                   atol=1e-5)
        assert x.min() < -1 and x.max() > 1  # normalised, not 0..1 or 255
    with pytest.raises(ValueError, match='the train dataset has 16'):
        calibration_inputs(config, 17, SHAPE)
    with pytest.raises(ValueError, match='split must be one of'):
        calibration_inputs(config, 2, SHAPE, split='dev')
    with pytest.raises(ValueError, match='num_images'):
        calibration_inputs(config, 0, SHAPE)


def test_openvino_int8_quantizes_the_network_only(trained_shapes,
                                                  int8_models):
    import openvino as ov
    model = ov.Core().read_model(int8_models['xml'])
    ops = model.get_ordered_ops()
    fake_quantize = [op for op in ops if op.get_type_name() == 'FakeQuantize']
    assert len(fake_quantize) > 50
    # box decoding, top-k and NMS (and the prediction convs) stay float
    float_part = set(decoding_node_names(model))
    assert any('NonMaxSuppression' in op.get_type_name() for op in ops
               if op.get_friendly_name() in float_part)
    for op in fake_quantize:
        for target in op.output(0).get_target_inputs():
            assert target.get_node().get_friendly_name() not in float_part


def test_onnxruntime_int8_keeps_predictions_float(int8_models):
    graph = onnx.load(int8_models['qdq']).graph
    producer = {out: node for node in graph.node for out in node.output}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def reads_int8(node):
        return any(
            getattr(producer.get(name), 'op_type', None) ==
            'DequantizeLinear' for name in node.input)

    predictions = set(prediction_conv_names(int8_models['onnx']))
    assert len(predictions) == 6  # scores and boxes of 3 levels
    convs = [n for n in graph.node if n.op_type == 'Conv']
    assert len(convs) > 50
    for conv in convs:  # every other conv reads int8 data and weights
        assert reads_int8(conv) == (conv.name not in predictions), conv.name
    # nothing after the prediction convs (decoding, top-k, NMS) reads a
    # quantized tensor
    stack = [n for n in convs if n.name in predictions]
    seen = set()
    while stack:
        node = stack.pop()
        if node.name in seen:
            continue
        seen.add(node.name)
        assert node.op_type not in ('QuantizeLinear', 'DequantizeLinear')
        assert not reads_int8(node) or node.name in predictions
        for name in node.output:
            stack += consumers.get(name, [])
    assert 'NonMaxSuppression' in {
        node.op_type for node in graph.node if node.name in seen
    }


def test_int8_detects_like_float(trained_shapes, int8_models):
    config = trained_shapes['config']
    image = osp.join(trained_shapes['data_root'], 'val', '000005.jpg')
    ref = ORTDetector(int8_models['onnx'], config)([image])[0].pred_instances
    assert len(ref) > 0
    for detector in (OVDetector(int8_models['xml'], config, num_threads=2),
                     ORTDetector(int8_models['qdq'], config, num_threads=2)):
        pred = detector([image])[0].pred_instances
        assert len(pred) > 0
        # the best INT8 detection is one of the float ones, close by
        best = pred.scores.argmax()
        ious = _iou(pred.bboxes[best][None], ref.bboxes)
        assert ious.max() > 0.8


def _iou(a, b):
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa
    return inter / (area(a)[:, None] + area(b)[None] - inter)


def test_quantize_bad_arguments(trained_shapes, int8_models, tmp_path):
    config = trained_shapes['config']
    with pytest.raises(ValueError, match='must end with .xml'):
        quantize_model(int8_models['onnx'], str(tmp_path / 'x.bin'), config,
                       2)
    with pytest.raises(FileNotFoundError, match='model file not found'):
        quantize_model(str(tmp_path / 'missing.onnx'),
                       str(tmp_path / 'x.xml'), config, 2)
    tool = _load_tool('export_onnx')
    with pytest.raises(ValueError, match='--int8 needs a static shape'):
        tool.main([config, '--out', str(tmp_path / 'd.onnx'), '--dynamic',
                   '--int8', str(tmp_path / 'd.xml')])


def test_test_deployed_prints_ap_tables(trained_shapes, int8_models,
                                        tmp_path, capsys):
    """tools/test_deployed.py evaluates INT8 graphs with mmdet's CocoMetric,
    and --compare gives eager, float and INT8 AP side by side."""
    tool = _load_tool('test_deployed')
    config = trained_shapes['config']
    out = str(tmp_path / 'metrics.json')
    metrics = tool.main([config, int8_models['xml'], '--backend', 'openvino',
                         '--out', out])
    printed = capsys.readouterr().out
    assert printed.count(COCO_SUMMARY) == 1
    assert '| openvino int8.xml |' in printed
    assert 0 <= metrics['coco/bbox_mAP'] <= 1
    with open(out) as f:
        assert json.load(f)['metrics']['coco/bbox_mAP'] == \
            metrics['coco/bbox_mAP']

    rows = tool.main([config, trained_shapes['checkpoint'], '--compare',
                      '--work-dir', str(tmp_path / 'compare'),
                      '--calib-images', '6', '--int8', 'openvino',
                      'onnxruntime', '--threads', '2'])
    printed = capsys.readouterr().out
    assert printed.count(COCO_SUMMARY) == 5
    assert [r['model'] for r in rows] == [
        'eager', 'onnxruntime fp32', 'openvino fp32', 'openvino int8',
        'onnxruntime int8'
    ]
    for row in rows:
        assert f'| {row["model"]} |' in printed
    eager = rows[0]['metrics']
    assert eager['coco/bbox_mAP_50'] > 0  # the model found something
    for row in rows[1:3]:  # float graphs score as the eager model does
        for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50'):
            assert abs(row['metrics'][key] - eager[key]) <= 0.002
    assert osp.isfile(str(tmp_path / 'compare' / 'ap.json'))


def test_test_deployed_bad_inputs(trained_shapes, int8_models, tmp_path):
    tool = _load_tool('test_deployed')
    config = trained_shapes['config']
    with pytest.raises(FileNotFoundError, match='model file not found'):
        tool.main([config, str(tmp_path / 'missing.onnx')])
    with pytest.raises(ValueError, match='was exported for input'):
        tool.main([config, int8_models['onnx'], '--shape', '320', '320'])
    with pytest.raises(SystemExit):  # argparse: invalid choice
        tool.main([config, int8_models['onnx'], '--backend', 'tensorrt'])
