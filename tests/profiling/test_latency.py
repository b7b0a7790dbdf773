"""Latency of built detectors (mmyoloms.profiling.latency) and the
side-by-side benchmark of tools/benchmark.py."""
import json

import pytest
import torch

from mmyoloms.deploy import build_detector
from mmyoloms.profiling import (BACKENDS, STAGES, LatencyRecord,
                                TimingProtocol, format_latency_table,
                                measure_latency, run_benchmark,
                                synthetic_image)

from ..deploy.helpers import XS_CONFIG
from ..deploy.test_export import _load_tool


def test_synthetic_image_is_deterministic():
    a, b = synthetic_image(seed=3), synthetic_image(seed=3)
    assert a.shape == (480, 640, 3) and a.dtype.name == 'uint8'
    assert (a == b).all()
    assert (a != synthetic_image(seed=4)).any()


def test_benchmark_tool_all_backends(tmp_path):
    tool = _load_tool('benchmark')
    out = tmp_path / 'report.json'
    report = tool.main([
        XS_CONFIG, '--shape', '64', '64', '--repeat', '2', '--rounds', '2',
        '--warmup', '1', '--threads', '1', '--score-thr', '0.05',
        '--work-dir', str(tmp_path), '--out', str(out)
    ])
    saved = json.loads(out.read_text())
    assert saved['settings']['shape'] == [64, 64]
    assert saved['settings']['threads'] == 1
    rows = saved['results']
    assert {(r['backend'], r['stage']) for r in rows} == {
        (b, s) for b in BACKENDS for s in STAGES
    }
    for row in rows:
        assert row['samples'] == 4
        assert 0 < row['median_ms'] <= row['p90_ms']
        assert row['images_per_s'] == pytest.approx(1e3 / row['median_ms'])
        assert row['nms']['score_thr'] == 0.05
    stem = 'yoloms-xs_syncbn_fast_8xb8-300e_coco_64x64_b1'
    for suffix in ('net.onnx', 'nms.onnx', 'nms_int8.xml', 'nms_int8.onnx',
                   'net_int8.xml', 'net_int8.onnx'):
        assert (tmp_path / f'{stem}_{suffix}').is_file()
    table = format_latency_table(report)
    assert table.count('\n| yoloms-xs') == len(BACKENDS)
    assert saved['settings']['openvino'] is not None


def test_benchmark_sliced_peer_and_backend_subset(tmp_path):
    """--with-sliced times each model a second time with the MS-Block's
    slicing kept; the sweep's latency passes backends such as openvino."""
    tool = _load_tool('benchmark')
    report = tool.main([
        XS_CONFIG, '--shape', '64', '64', '--repeat', '1', '--rounds', '1',
        '--warmup', '0', '--threads', '1', '--backend', 'openvino',
        '--with-sliced', '--work-dir', str(tmp_path)
    ])
    rows = report['results']
    assert {(r['model'], r['backend']) for r in rows} == {
        ('yoloms-xs_syncbn_fast_8xb8-300e_coco', 'openvino'),
        ('yoloms-xs_syncbn_fast_8xb8-300e_coco-sliced', 'openvino')
    }
    assert {r['deploy'].get('slice_free', True) for r in rows} == {
        True, False
    }


def test_benchmark_bad_arguments():
    models = [dict(name='xs', config=XS_CONFIG)]
    with pytest.raises(ValueError, match='backend must be one of'):
        run_benchmark(models, ['tensorrt'])
    with pytest.raises(ValueError, match='repeat'):
        run_benchmark(models, ['pytorch'], repeat=0)


def test_measure_latency_one_model_one_backend(tmp_path):
    """One built model, one backend, one protocol: a record per stage
    asked for, with the protocol's shape, batch and threads, and the
    caller's torch threads restored afterwards."""
    model = build_detector(XS_CONFIG)
    protocol = TimingProtocol(shape=(64, 64), warmup=1, repeat=2, rounds=2,
                              threads=1)
    threads = torch.get_num_threads()
    records = measure_latency(model, 'pytorch-deploy', protocol, name='xs',
                              stages=['forward', 'end2end'],
                              work_dir=str(tmp_path))
    assert torch.get_num_threads() == threads
    assert [r.stage for r in records] == ['forward', 'end2end']
    for record in records:
        assert isinstance(record, LatencyRecord)
        assert (record.model, record.backend) == ('xs', 'pytorch-deploy')
        assert (record.shape, record.batch, record.threads) == ([64, 64], 1,
                                                                1)
        assert record.samples == 4
        assert record.p10_ms <= record.median_ms <= record.p90_ms
        assert record.nms == dict(score_thr=0.001, iou_thr=0.65,
                                  pre_topk=30000, keep_topk=300,
                                  multi_label=True)
        assert json.loads(json.dumps(record.as_dict()))['stage'] == \
            record.stage
    with pytest.raises(ValueError, match='stage must be one of'):
        measure_latency(model, 'pytorch', protocol, stages=['nms'])
    with pytest.raises(ValueError, match='backend must be one of'):
        measure_latency(model, 'tensorrt', protocol)
