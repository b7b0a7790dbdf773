import csv
import json
import os.path as osp

import pytest
from mmengine.config import Config

from mmyoloms.sweep import Sweeper, SweepRun, collect_runs, load_sweep_file
from mmyoloms.sweep.sweeper import write_reports
from ..tiny_coco import make_tiny_coco, tiny_train_config


def _write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('sweep')
    data = make_tiny_coco(str(root / 'data'), num_images=4, size=64)
    config = tiny_train_config(data, str(root / 'base'), max_iters=1)
    return root, config


def test_sweep_file_and_globs(tiny, tmp_path):
    root, config = tiny
    sweep = _write(tmp_path / 'sweep.py', f'''
base = {config!r}
runs = [
    dict(name='k3579'),
    dict(name='k3333', cfg=dict(model=dict(backbone=dict(
        arch_setting=[[80, 160, [1, 3, 3], False], [160, 320, [1, 3, 3], False],
                      [320, 640, [1, 3, 3], False], [640, 1280, [1, 3, 3], True]])))),
]
''')
    runs = collect_runs([sweep, str(root / '*_config.py')])
    assert [r.name for r in runs] == ['k3579', 'k3333', 'base_config']
    cfg = runs[1].build_config({'train_cfg.max_iters': 7})
    assert cfg.model.backbone.arch_setting[3][2] == [1, 3, 3]
    assert cfg.train_cfg.max_iters == 7
    assert runs[0].build_config().model.backbone.get('arch_setting') is None


@pytest.mark.parametrize('text,match', [
    ("runs = [dict(cfg=dict())]\n", 'name'),
    ("runs = [dict(name='a', extra=1)]\n", 'extra'),
    ("runs = [dict(name='a b')]\nbase = 'x.py'\n", 'run name'),
    ("runs = [dict(name='a')]\n", 'no `config`'),
])
def test_bad_sweep_files(tmp_path, text, match):
    path = _write(tmp_path / 'bad.py', text)
    with pytest.raises(ValueError, match=match):
        load_sweep_file(path)


def test_missing_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match='matches no file'):
        collect_runs([str(tmp_path / '*.py')])
    config = _write(tmp_path / 'a.py', 'x = 1\n')
    with pytest.raises(ValueError, match='unique'):
        collect_runs([config, config])


def test_smoke_sweep_collects_table_plot_and_resumes(tiny, tmp_path):
    """Two configs train for one iteration each; a broken one is reported;
    a rerun skips the finished runs."""
    root, config = tiny
    runs = [
        SweepRun('xs', config),
        SweepRun('xs-k3', config,
                 dict(model=dict(backbone=dict(
                     block_cfg=dict(type='MSBlock', kernel_sizes=[1, 3, 3]))),
                      randomness=dict(seed=7))),
        SweepRun('broken', config,
                 dict(model=dict(backbone=dict(arch='no-such-arch')))),
    ]
    out = str(tmp_path / 'out')
    sweeper = Sweeper(runs, out, shape=(64, 64), latency_repeat=2,
                      latency_rounds=1)
    records = sweeper.run()
    assert [r['status'] for r in records] == ['ok', 'ok', 'failed']
    assert 'arch must be one of' in records[2]['error']
    # the sweep's seed (0 by default) where a run sets none
    for name, seed in (('xs', 0), ('xs-k3', 7)):
        dumped = Config.fromfile(osp.join(out, name, 'config.py'))
        assert dumped.randomness.seed == seed
    for r in records[:2]:
        assert 0 <= r['AP'] <= 1 and r['AP50'] is not None
        assert r['params_M'] > 1 and r['flops_G'] > 0
        assert r['latency_ms'] > 0 and r['latency_p90_ms'] >= r['latency_ms']
        assert r['forward_ms'] > 0
    # the kernel protocol really changed the model
    assert records[0]['params_M'] != records[1]['params_M']
    # both finished runs were timed side by side, in one benchmark
    with open(osp.join(out, 'latency.json')) as f:
        (report, ) = json.load(f)
    assert {row['model'] for row in report['results']} == {'xs', 'xs-k3'}
    assert report['settings']['shape'] == [64, 64]

    with open(osp.join(out, 'results.csv')) as f:
        rows = list(csv.DictReader(f))
    assert [r['name'] for r in rows] == ['xs', 'xs-k3', 'broken']
    assert {'AP', 'params_M', 'flops_G', 'forward_ms',
            'latency_ms'} <= set(rows[0])
    md = open(osp.join(out, 'results.md')).read()
    assert '| xs |' in md and 'broken' in md and 'arch must be one of' in md
    assert osp.getsize(osp.join(out, 'results.png')) > 10_000

    # rerun: finished runs are not redone, the broken one is tried again
    mtime = osp.getmtime(osp.join(out, 'xs', 'result.json'))
    sweeper = Sweeper(runs, out, shape=(64, 64), latency_repeat=2,
                      latency_rounds=1)
    again = sweeper.run()
    assert osp.getmtime(osp.join(out, 'xs', 'result.json')) == mtime
    assert [r['status'] for r in again] == ['ok', 'ok', 'failed']
    with open(osp.join(out, 'xs', 'result.json')) as f:
        assert json.load(f)['AP'] == records[0]['AP']
    assert all(r['forward_ms'] > 0 for r in again[:2])  # timed anew

    # a run that cannot be timed is reported; the others are still timed
    kept = {k: v for k, v in again[0].items() if k not in (
        'forward_ms', 'latency_ms', 'latency_p90_ms')}
    timed = [kept, dict(kept, name='gone', checkpoint='gone.pth')]
    sweeper.measure_latency(timed)
    assert timed[0]['forward_ms'] > 0 and 'latency_error' not in timed[0]
    assert 'forward_ms' not in timed[1] and timed[1]['latency_error']
    write_reports(timed, out)
    md = open(osp.join(out, 'results.md')).read()
    assert 'Latency not measured' in md and '`gone`' in md


@pytest.mark.parametrize('kwargs, name', [
    (dict(seed='0'), 'seed'),
    (dict(gpus=0), 'gpus'),
    (dict(latency_repeat=0), 'latency_repeat'),
    (dict(latency_rounds=1.5), 'latency_rounds'),
    (dict(launcher='slurm'), 'launcher'),
])
def test_bad_sweeper_arguments(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=name):
        Sweeper([SweepRun('a', 'a.py')], str(tmp_path), **kwargs)
