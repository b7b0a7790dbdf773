"""AP against latency (mmyoloms.profiling.pareto, .zoo and
tools/pareto.py): the front, the outputs, the quoted AP and the command
end to end on two tiny models."""
import csv
import json
import os
import os.path as osp

import pytest

from mmyoloms.profiling.pareto import (
    CSV_FIELDS, PARETO_BACKENDS, cpu_affinity, cpu_description, dominates,
    format_pareto_markdown, format_profile_comparison, mark_fronts,
    off_front_pairs, pareto_front, parse_backends, plot_pareto,
    profile_off_front, write_csv)
from mmyoloms.profiling.zoo import (SAME_AP_AS_PLAIN, metafile_box_ap,
                                    zoo_models)
from mmyoloms.utils import resolve_config_path

from ..deploy.test_export import REPO, _load_tool

XS_SHAPES = osp.join(REPO, 'configs/shapes/yoloms-xs_fast_1xb8-10e_shapes.py')
TINY_SHAPES = osp.join(REPO,
                       'configs/shapes/rtmdet-tiny_fast_1xb8-10e_shapes.py')


def _record(model, backend, median, ap, family='RTMDet'):
    return dict(model=model, backend=backend, median_ms=median, ap=ap,
                p10_ms=median * 0.9, p90_ms=median * 1.2,
                iqr_ms=median * 0.1, mean_ms=median, samples=30,
                family=family, multi_scale=family == 'YOLO-MS',
                ap_source='hand-made', params=1000, shape=[640, 640],
                batch=1, threads=2, config=f'{model}.py')


def _settings(**extra):
    return dict(shape=[640, 640], batch=1, warmup=3, repeat=10, rounds=3,
                threads=2, stage='forward', weights='random',
                int8_calibration='4 synthetic images', ap='quoted',
                cpu=dict(model='Test CPU', logical_cpus=2, affinity=[0, 1],
                         int8_isa=['avx2']), cpus=None, **extra)


def test_dominates_needs_one_strict_gain():
    assert dominates((10, 40), (12, 40))      # faster, as accurate
    assert dominates((12, 41), (12, 40))      # as fast, more accurate
    assert dominates((10, 41), (12, 40))
    assert not dominates((10, 40), (10, 40))  # equal
    assert not dominates((10, 39), (12, 40))  # faster but less accurate
    assert not dominates((13, 41), (12, 40))


def test_pareto_front_on_hand_made_points():
    points = [
        (10.0, 36.0),  # fastest: on
        (12.0, 41.0),  # on
        (13.0, 40.0),  # beaten by (12, 41)
        (12.0, 41.0),  # equal to an on-front point: on too
        (20.0, 46.0),  # on
        (25.0, 46.0),  # as accurate as (20, 46) but slower: off
        (30.0, 50.0),  # most accurate: on
    ]
    assert pareto_front(points) == [True, True, False, True, True, False,
                                    True]
    assert pareto_front([(5.0, 1.0)]) == [True]
    assert pareto_front([]) == []


def test_mark_fronts_per_backend_and_closest_beater_first():
    records = [
        _record('ms', 'openvino-fp32', 60.0, 43.1, 'YOLO-MS'),
        _record('fast', 'openvino-fp32', 30.0, 44.0),
        _record('closer', 'openvino-fp32', 55.0, 43.5),
        _record('slow', 'openvino-fp32', 90.0, 50.0),
        _record('ms', 'openvino-int8', 20.0, 43.1, 'YOLO-MS'),
        _record('fast', 'openvino-int8', 25.0, 44.0),
    ]
    marked = mark_fronts(records)
    assert 'on_front' not in records[0]  # inputs are not changed
    got = {(r['model'], r['backend']): (r['on_front'], r['dominated_by'])
           for r in marked}
    assert got == {
        ('ms', 'openvino-fp32'): (False, ['closer', 'fast']),
        ('fast', 'openvino-fp32'): (True, []),
        ('closer', 'openvino-fp32'): (False, ['fast']),
        ('slow', 'openvino-fp32'): (True, []),
        # the same models on another backend: a front of their own
        ('ms', 'openvino-int8'): (True, []),
        ('fast', 'openvino-int8'): (True, []),
    }


def test_parse_backends():
    assert parse_backends('openvino-fp32,openvino-int8,onnxruntime-fp32') \
        == ['openvino-fp32', 'openvino-int8', 'onnxruntime-fp32']
    assert parse_backends(['openvino', 'onnxruntime-int8']) == [
        'openvino-fp32', 'onnxruntime-int8'
    ]
    assert set(parse_backends(','.join(PARETO_BACKENDS))) == set(
        PARETO_BACKENDS)
    with pytest.raises(ValueError, match='backend must be one of'):
        parse_backends('openvino-fp32,tensorrt')
    with pytest.raises(ValueError, match='given twice'):
        parse_backends('openvino,openvino-fp32')
    with pytest.raises(ValueError, match='backend must be one of'):
        parse_backends('')


def test_write_csv(tmp_path):
    records = mark_fronts([
        _record('a', 'onnxruntime-fp32', 10.0, 40.0, 'YOLO-MS'),
        _record('b', 'onnxruntime-fp32', 8.0, 41.0),
    ])
    path = write_csv(records, str(tmp_path / 'sub' / 'p.csv'))
    with open(path, newline='') as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_FIELDS
    assert [(r['model'], r['on_front'], r['dominated_by']) for r in rows] \
        == [('a', 'False', 'b'), ('b', 'True', '')]
    assert float(rows[0]['median_ms']) == 10.0
    assert rows[0]['shape'] == '640 640'
    assert rows[0]['multi_scale'] == 'True'


def test_markdown_summary():
    records = mark_fronts([
        _record('YOLO-MS-XS', 'openvino-int8', 26.0, 43.1, 'YOLO-MS'),
        _record('RTMDet-tiny', 'openvino-int8', 19.0, 41.0),
        _record('RTMDet-s', 'openvino-int8', 24.5, 44.6),
        _record('YOLO-MS-XS', 'openvino-fp32', 60.0, 43.1, 'YOLO-MS'),
        _record('RTMDet-tiny', 'openvino-fp32', 56.0, 41.0),
    ])
    text = format_pareto_markdown(dict(settings=_settings(command='cmd'),
                                       records=records))
    assert 'Machine: Test CPU, 2 logical CPUs' in text
    assert '```bash\ncmd\n```' in text
    int8 = text.split('## openvino-int8')[1].split('##')[0]
    # fastest first; XS beaten by RTMDet-s (faster and more accurate)
    order = [line.split('|')[1].strip() for line in int8.splitlines()
             if line.startswith('| ') and 'quoted AP' not in line
             and '---' not in line]
    assert order == ['RTMDet-tiny', 'RTMDet-s', '**YOLO-MS-XS**']
    assert '| **YOLO-MS-XS** | 43.1 | 26.0 [23.4, 31.2] |  | RTMDet-s |' \
        in int8
    assert '| RTMDet-tiny | 41.0 | 19.0 [17.1, 22.8] | yes |  |' in int8
    assert ('| YOLO-MS-XS | openvino-fp32 | openvino-int8 (RTMDet-s) |'
            in text)
    assert '- hand-made: YOLO-MS-XS, RTMDet-tiny, RTMDet-s' in text


def test_plot_writes_png(tmp_path):
    records = mark_fronts([
        _record(f'm{i}', backend, 10.0 + i, 40.0 + (i % 3), fam)
        for i, fam in enumerate(['YOLO-MS', 'RTMDet', 'YOLOv6', 'YOLOv8'])
        for backend in PARETO_BACKENDS
    ])
    path = plot_pareto(dict(settings=_settings(), records=records),
                       str(tmp_path / 'p.png'))
    with open(path, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_metafile_box_ap_reads_the_installed_metafile():
    ap, source = metafile_box_ap(
        'mmyolo::rtmdet/rtmdet_tiny_syncbn_fast_8xb32-300e_coco.py')
    assert ap == 41.0
    assert source.startswith('mmyolo ') and source.endswith(
        'configs/rtmdet/metafile.yml')
    # a config the metafile does not list
    with pytest.raises(ValueError, match='lists no COCO box AP'):
        metafile_box_ap('mmyolo::rtmdet/rtmdet_tiny_fast_1xb12-40e_cat.py')
    with pytest.raises(ValueError, match='package config'):
        metafile_box_ap('configs/yoloms/yoloms-xs_syncbn_fast_8xb8-300e_'
                        'coco.py')


def test_zoo_models_default_list():
    models = zoo_models()
    names = [m.name for m in models]
    assert names[:6] == ['YOLO-MS-XS', 'YOLO-MS-XS-SE', 'YOLO-MS-S',
                         'YOLO-MS-M', 'YOLOv6-MS-t', 'YOLOv8-MS-n']
    assert set(names[6:]) == {
        'RTMDet-tiny', 'RTMDet-s', 'RTMDet-m', 'YOLOv6-n', 'YOLOv6-t',
        'YOLOv6-s', 'YOLOv8-n', 'YOLOv8-s', 'YOLOv8-m'
    }
    assert not set(SAME_AP_AS_PLAIN) & set(names)
    for m in models:
        assert resolve_config_path(m.config)  # the file exists
        assert m.multi_scale == m.name.startswith(('YOLO-MS', 'YOLOv6-MS',
                                                   'YOLOv8-MS'))
    by_name = {m.name: m for m in models}
    assert by_name['YOLO-MS-XS'].ap == 43.1
    assert 'YOLO-MS official README' in by_name['YOLO-MS-XS'].ap_source
    assert by_name['YOLOv8-n'].ap == 37.2
    assert 'metafile' in by_name['YOLOv8-n'].ap_source
    picked = zoo_models(['YOLO-MS-S-SE', 'RTMDet-tiny'])
    assert [m.name for m in picked] == ['YOLO-MS-S-SE', 'RTMDet-tiny']
    with pytest.raises(ValueError, match='unknown model'):
        zoo_models(['YOLO-MS-L'])
    with pytest.raises(ValueError, match='must not repeat'):
        zoo_models(['RTMDet-tiny', 'RTMDet-tiny'])


def test_cpu_description_and_affinity():
    cpu = cpu_description()
    assert cpu['model'] and cpu['logical_cpus'] >= 1
    before = os.sched_getaffinity(0)
    first = min(before)
    with cpu_affinity([first]):
        assert os.sched_getaffinity(0) == {first}
        assert cpu_description()['affinity'] == [first]
    assert os.sched_getaffinity(0) == before
    with pytest.raises(ValueError, match='cpus must be'):
        with cpu_affinity([-1]):
            pass


def test_pareto_tool_end_to_end_on_two_tiny_models(tmp_path):
    """The command on two small models at 64x64, one timed call each:
    every (model, backend) timed and joined with its AP, the front as
    the rule gives it, the four outputs, and --replot."""
    models_file = tmp_path / 'models.json'
    models_file.write_text(json.dumps([
        dict(name='xs', config=XS_SHAPES, family='YOLO-MS', ap=30.0,
             ap_source='hand-made'),
        dict(name='tiny', config=TINY_SHAPES, family='RTMDet', ap=28.0,
             ap_source='hand-made'),
    ]))
    tool = _load_tool('pareto')
    out = tmp_path / 'out'
    report = tool.main([
        '--models-file', str(models_file), '--backends',
        'openvino-fp32,onnxruntime-int8', '--shape', '64', '64',
        '--repeat', '1', '--rounds', '1', '--warmup', '0', '--threads', '1',
        '--calib-images', '1', '--out', str(out)
    ])
    records = report['records']
    assert {(r['model'], r['backend']) for r in records} == {
        (m, b) for m in ('xs', 'tiny')
        for b in ('openvino-fp32', 'onnxruntime-int8')
    }
    for r in records:
        assert r['samples'] == 1 and r['median_ms'] > 0
        assert r['shape'] == [64, 64] and r['threads'] == 1
        assert r['ap'] == (30.0 if r['model'] == 'xs' else 28.0)
        # checkout-relative: the outputs are committed under docs/
        assert r['config'] == osp.relpath(
            XS_SHAPES if r['model'] == 'xs' else TINY_SHAPES, REPO)
    # the front follows the rule from the measured medians
    for backend in ('openvino-fp32', 'onnxruntime-int8'):
        xs, tiny = (next(r for r in records if r['backend'] == backend
                         and r['model'] == m) for m in ('xs', 'tiny'))
        assert xs['on_front']  # the most accurate is never beaten
        assert tiny['on_front'] == (tiny['median_ms'] < xs['median_ms'])
    settings = json.loads((out / 'pareto.json').read_text())['settings']
    assert settings['shape'] == [64, 64]
    assert settings['command'].startswith('python tools/pareto.py')
    assert settings['cpu']['model']
    assert '1 synthetic images' in settings['int8_calibration']
    assert (out / 'graphs' / 'xs_64x64_b1_net_int8.onnx').is_file()
    with open(out / 'pareto.csv', newline='') as f:
        assert len(list(csv.DictReader(f))) == 4
    assert (out / 'pareto.png').stat().st_size > 0
    md = (out / 'pareto.md').read_text()
    assert '## openvino-fp32' in md and '## onnxruntime-int8' in md
    # --replot rewrites the outputs from the JSON without timing
    again = tmp_path / 'again'
    tool.main(['--replot', str(out / 'pareto.json'), '--out', str(again)])
    assert (again / 'pareto.md').read_text() == md
    assert (again / 'pareto.csv').read_text() == (out /
                                                  'pareto.csv').read_text()
    # profiling an off-front YOLO-MS model beside its peer, from the
    # run's own graphs and inputs: xs made slower and less accurate
    for r in records:
        r.update(median_ms=2.0 if r['model'] == 'xs' else 1.0,
                 ap=27.0 if r['model'] == 'xs' else 28.0)
    report = dict(report, records=mark_fronts(records))
    comparisons = profile_off_front(report, runs=1, warmup=0,
                                    log=lambda _: None)
    assert [(c['model'], c['peer'], c['backend']) for c in comparisons] \
        == [('xs', 'tiny', 'openvino-fp32'),
            ('xs', 'tiny', 'onnxruntime-int8')]
    ov, ort_int8 = comparisons
    assert any(t.startswith('Convolution/') for t in
               ov['profiles']['xs']['by_type'])
    assert 'QLinearConv' in ort_int8['profiles']['xs']['by_type']
    text = format_profile_comparison(comparisons)
    assert '## xs against tiny, openvino-fp32' in text


def test_pareto_tool_bad_arguments(tmp_path):
    tool = _load_tool('pareto')
    with pytest.raises(ValueError, match='backend must be one of'):
        tool.main(['--backends', 'tensorrt', '--out', str(tmp_path)])
    with pytest.raises(ValueError, match='unknown model'):
        tool.main(['--models', 'YOLO-MS-XL', '--out', str(tmp_path)])
    bad = tmp_path / 'models.json'
    bad.write_text(json.dumps([dict(name='x', config=XS_SHAPES)]))
    with pytest.raises(ValueError, match=r"model 0 lacks \['family'"):
        tool.main(['--models-file', str(bad), '--out', str(tmp_path)])
    with pytest.raises(FileNotFoundError, match='--models-file'):
        tool.main(['--models-file', str(tmp_path / 'none.json')])
    with pytest.raises(ValueError, match='--cpus'):
        tool.main(['--models', 'RTMDet-tiny', '--cpus', 'a,b', '--out',
                   str(tmp_path)])


def test_off_front_pairs_and_profile_table():
    records = mark_fronts([
        _record('YOLO-MS-XS', 'openvino-int8', 26.0, 43.1, 'YOLO-MS'),
        _record('RTMDet-s', 'openvino-int8', 24.5, 44.6),
        _record('RTMDet-tiny', 'openvino-int8', 19.0, 41.0),
        _record('YOLOv8-n', 'openvino-int8', 30.0, 37.2),  # off, a peer
    ])
    pairs = off_front_pairs(records)
    assert [(r['model'], p['model']) for r, p in pairs] == [
        ('YOLO-MS-XS', 'RTMDet-s')
    ]
    profile = dict(total_ms=10.0, by_type={'Convolution/1x1': 6.0,
                                           'Concat/ref': 0.1,
                                           'Convolution/dw': 3.9})
    peer = dict(total_ms=7.0, by_type={'Convolution/1x1': 2.0,
                                       'Convolution/dense': 5.0})
    text = format_profile_comparison([dict(
        backend='openvino-int8', model='YOLO-MS-XS', peer='RTMDet-s',
        profiles={'YOLO-MS-XS': profile, 'RTMDet-s': peer})])
    rows = [line for line in text.splitlines() if line.startswith('| ')]
    assert rows[2:] == [
        '| Convolution/dense | 0.0 | 5.0 | -5.0 |',
        '| Convolution/1x1 | 6.0 | 2.0 | +4.0 |',
        '| Convolution/dw | 3.9 | 0.0 | +3.9 |',
        '| (others) | 0.1 | 0.0 | +0.1 |',
        '| **total** | **10.0** | **7.0** | **+3.0** |',
    ]
    assert format_profile_comparison([]).startswith('Every YOLO-MS model')
