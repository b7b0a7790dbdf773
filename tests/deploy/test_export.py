import copy
import importlib.util
import os.path as osp

import numpy as np
import onnx
import pytest
import torch

from mmyoloms.compat import TorchFeatureError, has_torch_feature
from mmyoloms.deploy import (OUTPUT_NAMES, End2EndDetector, ORTDetector,
                             deploy_model, export_onnx, make_session,
                             nms_settings)

from .helpers import (XS_CONFIG, detector_with_detections, match_detections,
                      random_image)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHAPE = (160, 160)


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def scene():
    image = random_image(120, 160)
    model, data = detector_with_detections(XS_CONFIG, image, SHAPE)
    with torch.no_grad():
        reference = model.test_step(copy.deepcopy(data))[0].pred_instances
    deployed = deploy_model(copy.deepcopy(model), channels_last=False)
    e2e = End2EndDetector(deployed,
                          **nms_settings(model.bbox_head.test_cfg))
    return dict(image=image, model=model, data=data, reference=reference,
                e2e=e2e)


@pytest.fixture(scope='module')
def dynamo_file(scene, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('onnx') / 'xs_dynamo.onnx')
    return export_onnx(scene['e2e'], out, SHAPE)


def test_ort_matches_pytorch_predict(scene, dynamo_file):
    graph = onnx.load(dynamo_file).graph
    assert 'NonMaxSuppression' in {node.op_type for node in graph.node}
    assert [o.name for o in graph.output] == list(OUTPUT_NAMES)

    detector = ORTDetector(dynamo_file, XS_CONFIG, num_threads=2)
    assert detector.shape == SHAPE
    assert detector.dataset_meta['classes'][0] == 'person'
    result = detector([scene['image']])[0]
    pred, ref = result.pred_instances, scene['reference']
    assert result.ori_shape == (120, 160)
    assert len(ref) > 20  # NMS had real work
    assert len(pred) == len(ref)
    assert match_detections(pred, ref, box_tol=1.0,
                            score_tol=1e-3) == len(ref)
    # boxes are in the original image
    assert pred.bboxes[:, 0::2].max() <= 160 and pred.bboxes[:, 1::2].max(
    ) <= 120


def test_torchscript_exporter_gives_the_same_graph_output(
        scene, dynamo_file, tmp_path):
    ts_file = export_onnx(scene['e2e'], str(tmp_path / 'ts.onnx'), SHAPE,
                          exporter='torchscript')
    inputs = scene['model'].data_preprocessor(copy.deepcopy(scene['data']),
                                              False)['inputs'].numpy()
    out_dynamo = make_session(dynamo_file).run(None, {'images': inputs})
    out_ts = make_session(ts_file).run(None, {'images': inputs})
    assert out_dynamo[0].tolist() == out_ts[0].tolist()
    n = int(out_dynamo[0][0, 0])
    for a, b in zip(out_dynamo[1:], out_ts[1:]):
        np.testing.assert_allclose(a[0, :n], b[0, :n], atol=1e-4)


def test_dynamic_export(scene, tmp_path):
    if not has_torch_feature('dynamo_onnx_export'):
        # the oldest row (torch < 2.6): refused, naming the version
        with pytest.raises(TorchFeatureError, match=r'needs torch >= 2\.6'):
            export_onnx(scene['e2e'], str(tmp_path / 'dyn.onnx'), SHAPE,
                        dynamic=True)
        return
    out = export_onnx(scene['e2e'], str(tmp_path / 'dyn.onnx'), SHAPE,
                      dynamic=True)
    session = make_session(out)
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        expected = scene['e2e'](x)
    got = session.run(None, {'images': x.numpy()})
    assert got[0].tolist() == expected[0].tolist()
    for b in range(2):
        n = int(got[0][b, 0])
        assert n > 0
        np.testing.assert_allclose(got[2][b, :n], expected[2][b, :n].numpy(),
                                   atol=1e-3)


def test_export_tool_and_bad_arguments(scene, tmp_path):
    tool = _load_tool('export_onnx')
    out = str(tmp_path / 'tool.onnx')
    tool.main([XS_CONFIG, '--out', out, '--shape', '64', '96',
               '--score-thr', '0.2', '--keep-topk', '20'])
    detector = ORTDetector(out, XS_CONFIG)
    assert detector.shape == (64, 96)
    outputs = detector.session.get_outputs()
    assert outputs[1].shape == [1, 20, 4]
    with pytest.raises(ValueError, match='exported for input'):
        ORTDetector(out, XS_CONFIG, shape=(128, 128))

    with pytest.raises(ValueError, match='multiples of the largest'):
        export_onnx(scene['e2e'], str(tmp_path / 'x.onnx'), (100, 100))
    with pytest.raises(ValueError, match='dynamic shapes need'):
        export_onnx(scene['e2e'], str(tmp_path / 'x.onnx'), SHAPE,
                    dynamic=True, exporter='torchscript')
    with pytest.raises(ValueError, match='exporter must be'):
        export_onnx(scene['e2e'], str(tmp_path / 'x.onnx'), SHAPE,
                    exporter='tensorrt')
    with pytest.raises(FileNotFoundError):
        ORTDetector(str(tmp_path / 'missing.onnx'), XS_CONFIG)


def test_network_only_graph_is_not_a_detector(scene, tmp_path):
    net = copy.copy(scene['e2e'])
    net.with_nms = False
    out = export_onnx(net, str(tmp_path / 'net.onnx'), SHAPE)
    with pytest.raises(ValueError, match='not a detector exported with NMS'):
        ORTDetector(out, XS_CONFIG)


def test_dynamo_falls_back_to_torchscript_on_old_torch(scene, tmp_path,
                                                       monkeypatch):
    """Where the dynamo exporter is missing (torch < 2.6) a static export
    writes the TorchScript graph and logs it once; a dynamic one is refused
    with the version needed. Simulated here on any torch."""
    from mmyoloms import compat
    from mmyoloms.deploy import export as export_module
    real = compat.has_torch_feature
    monkeypatch.setattr(
        export_module, 'has_torch_feature',
        lambda name, version=None: name != 'dynamo_onnx_export' and real(
            name, version))
    monkeypatch.setattr(compat, '_fallbacks_logged', set())
    out = export_onnx(scene['e2e'], str(tmp_path / 'fallback.onnx'), SHAPE)
    assert 'dynamo_onnx_export' in compat._fallbacks_logged
    graph = onnx.load(out).graph
    assert 'NonMaxSuppression' in {node.op_type for node in graph.node}
    inputs = scene['model'].data_preprocessor(copy.deepcopy(scene['data']),
                                              False)['inputs']
    got = make_session(out).run(None, {'images': inputs.numpy()})
    with torch.no_grad():
        expected = scene['e2e'](inputs)
    assert got[0].tolist() == expected[0].tolist()
    with pytest.raises(TorchFeatureError, match=r'needs torch >= 2\.6'):
        export_onnx(scene['e2e'], str(tmp_path / 'dyn.onnx'), SHAPE,
                    dynamic=True)
