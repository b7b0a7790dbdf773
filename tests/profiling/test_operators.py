import json

import numpy as np
import pytest
import torch

from mmyoloms.profiling import (format_operator_profile, format_top_nodes,
                                input_shape, profile_onnxruntime,
                                profile_openvino, summarize_ort_events)

from ..deploy.test_export import _load_tool

SIZE = 32
# How each runtime names a convolution in ``by_type``: onnxruntime by op
# type (``Conv``, also for its NCHWc kernels), OpenVINO as
# ``Convolution/<exec_type>`` (SiLU fused into it).
CONV = dict(onnxruntime='Conv', openvino='Convolution/')
PROFILERS = dict(onnxruntime=profile_onnxruntime, openvino=profile_openvino)


class TinyNet(torch.nn.Sequential):
    """Conv-SiLU-Conv: almost all of its arithmetic is in the convs."""

    def __init__(self):
        super().__init__(
            torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.SiLU(),
            torch.nn.Conv2d(32, 8, 3, padding=1))


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    """The tiny net as ONNX with a fixed 32x32 input, with a dynamic size,
    and as OpenVINO IR. The input is not named ``images`` (the name of
    tools/export_onnx.py), so any single-input graph is profiled."""
    root = tmp_path_factory.mktemp('profile')
    net = TinyNet().eval()
    dummy = torch.zeros(1, 3, SIZE, SIZE)
    files = dict(fixed=str(root / 'tiny.onnx'),
                 dynamic=str(root / 'tiny_dynamic.onnx'),
                 xml=str(root / 'tiny.xml'))
    for key, axes in (('fixed', None),
                      ('dynamic', {'x': {0: 'n', 2: 'h', 3: 'w'}})):
        torch.onnx.export(net, dummy, files[key], dynamo=False,
                          input_names=['x'], output_names=['y'],
                          dynamic_axes=axes)
    import openvino as ov
    ov.save_model(ov.convert_model(files['fixed']), files['xml'])
    return files


def _inputs(shape=(1, 3, SIZE, SIZE)):
    return np.random.default_rng(0).standard_normal(shape, dtype=np.float32)


def _check_profile(profile, top):
    assert set(profile) == {'total_ms', 'by_type', 'top_nodes'}
    assert profile['total_ms'] > 0
    assert profile['total_ms'] == pytest.approx(
        sum(profile['by_type'].values()), rel=1e-9)
    assert len(profile['top_nodes']) == top
    for table in (profile['by_type'], profile['top_nodes']):
        assert list(table.values()) == sorted(table.values(), reverse=True)
        assert all(ms >= 0 for ms in table.values())
    # the slowest nodes cannot take more than all nodes
    assert sum(profile['top_nodes'].values()) <= profile['total_ms'] * (
        1 + 1e-9)


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_profile_sums_operator_time(models, backend):
    profile = PROFILERS[backend](models['fixed'], _inputs(), threads=1,
                                 runs=5, warmup=2, top=2)
    _check_profile(profile, top=2)
    convs = [k for k in profile['by_type'] if k.startswith(CONV[backend])]
    assert convs, profile['by_type']
    assert all(profile['by_type'][k] > 0 for k in convs)


def test_profile_openvino_ir_and_no_top_nodes(models):
    profile = profile_openvino(models['xml'], _inputs(), threads=1, runs=1,
                               warmup=0, top=0)
    _check_profile(profile, top=0)
    assert any(k.startswith('Convolution/') for k in profile['by_type'])


def test_warmup_runs_are_left_out_by_time():
    """A node that runs twice per run (a subgraph) must not shift the
    boundary between warm-up and profiled runs."""

    def run(ts, conv_us, add_us):
        return [
            dict(cat='Session', name='model_run', ts=ts, dur=100),
            dict(cat='Node', name='conv_kernel_time', ts=ts + 1,
                 dur=conv_us, args=dict(op_name='Conv')),
            dict(cat='Node', name='conv_fence_before', ts=ts + 1, dur=0,
                 args=dict(op_name='Conv')),
            dict(cat='Node', name='add_kernel_time', ts=ts + 2, dur=add_us,
                 args=dict(op_name='Add')),
            dict(cat='Node', name='add_kernel_time', ts=ts + 3, dur=add_us,
                 args=dict(op_name='Add')),
        ]

    events = [dict(cat='Session', name='session_initialization', ts=0,
                   dur=5)]
    events += run(10, 9000, 7000) + run(200, 300, 100) + run(400, 500, 100)
    profile = summarize_ort_events(events, runs=2, warmup=1, top=1)
    assert profile['by_type'] == pytest.approx(dict(Conv=0.4, Add=0.2))
    assert profile['total_ms'] == pytest.approx(0.6)
    assert profile['top_nodes'] == pytest.approx(dict(conv=0.4))
    with pytest.raises(ValueError, match='3 runs'):
        summarize_ort_events(events, runs=3, warmup=1, top=1)


def test_input_shape(models):
    assert input_shape(models['fixed']) == (1, 3, SIZE, SIZE)
    assert input_shape(models['fixed'], (SIZE, SIZE)) == (1, 3, SIZE, SIZE)
    assert input_shape(models['xml']) == (1, 3, SIZE, SIZE)
    assert input_shape(models['dynamic']) == (1, 3, 640, 640)
    assert input_shape(models['dynamic'], (48, 40)) == (1, 3, 48, 40)
    for key in ('fixed', 'xml'):
        with pytest.raises(ValueError) as error:
            input_shape(models[key], (64, 64))
        assert models[key] in str(error.value)
        assert '(1, 3, 32, 32)' in str(error.value)
    with pytest.raises(ValueError, match='two ints'):
        input_shape(models['dynamic'], (64, ))
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        input_shape('missing.onnx')


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_profile_bad_arguments(models, backend, tmp_path):
    profile = PROFILERS[backend]
    missing = str(tmp_path / 'missing.onnx')
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        profile(missing, _inputs())
    for name, value in (('runs', 0), ('threads', 0), ('warmup', -1),
                        ('top', -1), ('runs', 2.5), ('threads', True)):
        with pytest.raises(ValueError, match=name):
            profile(models['fixed'], _inputs(), **{name: value})
    if backend == 'openvino':
        with pytest.raises(ValueError, match='precision'):
            profile(models['fixed'], _inputs(), precision='f64')


def test_format_operator_profile():
    profile = dict(total_ms=10.,
                   by_type={'Conv': 8., 'Mul': 1.98, 'Add': 0.02},
                   top_nodes={'conv1': 5., 'conv2': 3.})
    lines = format_operator_profile(profile, 'tiny',
                                    min_share=0.01).splitlines()
    assert lines[0] == '**tiny** (10.0 ms of operator time per run)'
    assert lines[2:] == [
        '| operator | ms | share |', '| --- | --- | --- |',
        '| Conv | 8.0 | 80% |', '| Mul | 2.0 | 20% |',
        '| (others) | 0.0 | 0% |'
    ]
    assert format_top_nodes(profile).splitlines()[2:] == [
        '| conv1 | 5.00 | 50% |', '| conv2 | 3.00 | 30% |'
    ]
    # an all-zero profile (e.g. a graph of no-ops) prints, not divides
    empty = dict(total_ms=0., by_type={'Identity': 0.},
                 top_nodes={'id': 0.})
    assert '| Identity | 0.0 | - |' in format_operator_profile(empty)
    assert '| id | 0.00 | - |' in format_top_nodes(empty)
    with pytest.raises(ValueError, match='min_share'):
        format_operator_profile(profile, min_share=2)


def test_tool_prints_tables_and_writes_json(models, tmp_path, capsys):
    tool = _load_tool('profile_deployed')
    out = tmp_path / 'sub' / 'profile.json'
    report = tool.main([
        models['fixed'], models['dynamic'], '--backend', 'onnxruntime',
        'openvino', '--threads', '1', '--runs', '2', '--warmup', '1',
        '--top', '3', '--shape', str(SIZE), str(SIZE), '--out', str(out)
    ])
    printed = capsys.readouterr().out
    assert printed.count('| operator | ms | share |') == 4
    assert printed.count('| node | ms | share |') == 4
    assert '**tiny.onnx, onnxruntime, 1x3x32x32**' in printed
    assert '**tiny_dynamic.onnx, openvino, 1x3x32x32**' in printed
    assert '| Conv |' in printed and '| Convolution/' in printed
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(report))
    assert saved['settings']['threads'] == 1
    assert saved['settings']['runs'] == 2
    assert [(r['model'], r['backend']) for r in saved['results']] == [
        (models['fixed'], 'onnxruntime'), (models['fixed'], 'openvino'),
        (models['dynamic'], 'onnxruntime'), (models['dynamic'], 'openvino')
    ]
    for result in saved['results']:
        assert result['shape'] == [1, 3, SIZE, SIZE]
        _check_profile({k: result[k] for k in
                        ('total_ms', 'by_type', 'top_nodes')}, top=3)


def test_tool_default_and_openvino_ir(models, capsys):
    tool = _load_tool('profile_deployed')
    report = tool.main([models['xml'], '--backend', 'openvino', '--runs',
                        '1', '--warmup', '0', '--threads', '1'])
    assert report['results'][0]['shape'] == [1, 3, SIZE, SIZE]
    assert '**tiny.xml, openvino, 1x3x32x32**' in capsys.readouterr().out


def test_tool_bad_inputs(models, tmp_path, capsys):
    tool = _load_tool('profile_deployed')
    missing = str(tmp_path / 'missing.onnx')
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        tool.main([models['fixed'], missing])
    with pytest.raises(SystemExit):
        tool.main([models['fixed'], '--backend', 'tensorrt'])
    assert "invalid choice: 'tensorrt'" in capsys.readouterr().err
    with pytest.raises(ValueError) as error:
        tool.main([models['fixed'], '--shape', '64', '64'])
    assert models['fixed'] in str(error.value)
    assert '(1, 3, 32, 32)' in str(error.value)
    with pytest.raises(ValueError, match='onnxruntime profiles .onnx'):
        tool.main([models['xml'], '--backend', 'onnxruntime'])
    with pytest.raises(ValueError, match='runs'):
        tool.main([models['fixed'], '--runs', '0'])
    # nothing was profiled before the errors
    assert '| operator |' not in capsys.readouterr().out
