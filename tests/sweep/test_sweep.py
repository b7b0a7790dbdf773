import csv
import json
import os
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from mmyoloms.analysis import get_complexity
from mmyoloms.sweep import Sweeper, SweepRun, collect_runs, load_sweep_file
from ..conftest import REPO_ROOT, load_script
from ..shapes_utils import make_tiny_shapes
from ..tiny_coco import make_tiny_coco, tiny_train_config

SHAPES_XS = osp.join(REPO_ROOT, 'configs', 'shapes',
                     'yoloms-xs_fast_1xb8-10e_shapes.py')
FASTER_RCNN = osp.join(REPO_ROOT, 'configs', 'mmdet',
                       'faster-rcnn_yoloms-s_fpn_1x_coco.py')


def _write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


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
    cfg = runs[1].build_config({'train_cfg.max_iters': 7}, seed=3)
    assert cfg.model.backbone.arch_setting[3][2] == [1, 3, 3]
    assert cfg.train_cfg.max_iters == 7
    assert cfg.randomness.seed == 3
    assert runs[0].build_config().model.backbone.get('arch_setting') is None


def test_common_cfg_of_a_sweep_file(tiny, tmp_path):
    root, config = tiny
    sweep = _write(tmp_path / 'sweep.py', f'''
base = {config!r}
common_cfg = dict(train_cfg=dict(max_iters=3), img_scale=(32, 32))
runs = [dict(name='a'), dict(name='b', cfg=dict(train_cfg=dict(max_iters=5)))]
''')
    a, b = load_sweep_file(sweep)
    assert a.build_config().train_cfg.max_iters == 3
    # a run's own cfg comes after the common one
    assert b.build_config().train_cfg.max_iters == 5
    assert b.build_config().img_scale == (32, 32)


def test_build_config_rescales_before_the_options():
    run = SweepRun('xs', SHAPES_XS,
                   dict(randomness=dict(seed=7), train_cfg=dict(
                       val_interval=4)))
    cfg = run.build_config({'param_scheduler.1.eta_min': 1e-5}, epochs=3,
                           seed=1)
    assert cfg.train_cfg.max_epochs == 3
    # the run's own interval (4 of 10 epochs) was rescaled: round(1.2) = 1
    assert cfg.train_cfg.val_interval == 1
    assert cfg.param_scheduler[1].end == 3
    assert cfg.param_scheduler[1].eta_min == 1e-5  # options come last
    assert cfg.randomness.seed == 1  # the sweep's seed wins
    with pytest.raises(ValueError, match=r'run bad .*IterBasedTrainLoop'):
        SweepRun('bad', SHAPES_XS,
                 dict(train_cfg=dict(_delete_=True, type='IterBasedTrainLoop',
                                     max_iters=5))).build_config(epochs=2)


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


@pytest.mark.parametrize('kwargs, name', [
    (dict(seeds=[]), 'seeds'),
    (dict(seeds=[0, 0]), 'repeat'),
    (dict(seeds=['1']), 'seeds'),
    (dict(seeds=[-1]), 'seeds'),
    (dict(epochs=0), 'epochs'),
    (dict(reference='nope'), 'reference'),
    (dict(gpus=0), 'gpus'),
    (dict(latency_repeat=0), 'latency_repeat'),
    (dict(latency_rounds=1.5), 'latency_rounds'),
    (dict(launcher='slurm'), 'launcher'),
])
def test_bad_sweeper_arguments(tmp_path, kwargs, name):
    with pytest.raises(ValueError, match=name):
        Sweeper([SweepRun('a', 'a.py')], str(tmp_path), **kwargs)


# ---------------------------------------------------------------------------
# The sweep's bookkeeping (seed directories, a failing seed, resume, added
# seeds, statistics in the reports) with a stand-in worker that "trains" in
# a fraction of a second: AP = the config's fake_ap + 0.01 * seed.
FAKE_WORKER = '''
import json, os, sys
from mmengine.config import Config
config, work_dir, out = sys.argv[1], sys.argv[3], sys.argv[5]
cfg = Config.fromfile(config)
seed = cfg.randomness.seed
with open(os.path.join(os.path.dirname(work_dir), 'calls.txt'), 'a') as f:
    f.write(f'{seed}\\n')
if seed == cfg.get('fail_seed'):
    raise RuntimeError(f'seed {seed} fails on purpose')
ap = cfg.fake_ap + 0.01 * seed
metrics = {'coco/bbox_mAP': ap, 'coco/bbox_mAP_50': 2 * ap,
           'coco/bbox_mAP_75': ap / 2, 'coco/bbox_mAP_s': ap,
           'coco/bbox_mAP_m': ap, 'coco/bbox_mAP_l': ap}
with open(out, 'w') as f:
    json.dump(dict(metrics=metrics, checkpoint='none.pth'), f)
'''


class FakeSweeper(Sweeper):

    def _worker_cmd(self, config, work_dir, out):
        return [sys.executable, self.fake_worker, config, '--work-dir',
                work_dir, '--out', out]

    def complexity(self, run, records):
        return dict(params_M=1.0 + len(run.name), flops_G=2.0)


def _calls(out, name):
    path = osp.join(out, name, 'calls.txt')
    if not osp.isfile(path):
        return []
    with open(path) as f:
        return [int(line) for line in f.read().split()]


@pytest.fixture
def fake_sweep(tmp_path):
    worker = _write(tmp_path / 'fake_worker.py', FAKE_WORKER)
    a = _write(tmp_path / 'a.py', 'fake_ap = 0.30\n')
    b = _write(tmp_path / 'b.py', 'fake_ap = 0.40\nfail_seed = 1\n')
    out = str(tmp_path / 'out')

    def make(seeds, **kwargs):
        sweeper = FakeSweeper([SweepRun('a', a), SweepRun('bb', b)], out,
                              seeds=seeds, latency=False, **kwargs)
        sweeper.fake_worker = worker
        return sweeper

    return make, out


def test_seeds_failing_seed_resume_and_added_seeds(fake_sweep):
    make, out = fake_sweep
    records = make([0, 1, 2]).run()
    # seed by seed: every run's seed 0 first
    assert [(r['name'], r['seed'], r['status']) for r in records] == [
        ('a', 0, 'ok'), ('bb', 0, 'ok'), ('a', 1, 'ok'), ('bb', 1, 'failed'),
        ('a', 2, 'ok'), ('bb', 2, 'ok')
    ]
    assert 'seed 1 fails on purpose' in records[3]['error']
    for name in ('a', 'bb'):
        for seed in (0, 1, 2):
            assert osp.isfile(osp.join(out, name, f'seed{seed}',
                                       'result.json'))
            dumped = Config.fromfile(
                osp.join(out, name, f'seed{seed}', 'config.py'))
            assert dumped.randomness.seed == seed

    rows = _csv(osp.join(out, 'results.csv'))
    assert [(r['name'], r['seed'], r['status']) for r in rows] == [
        ('a', '0', 'ok'), ('a', '1', 'ok'), ('a', '2', 'ok'),
        ('bb', '0', 'ok'), ('bb', '1', 'failed'), ('bb', '2', 'ok')
    ]
    summary = {r['name']: r for r in _csv(osp.join(out, 'summary.csv'))}
    assert summary['a']['seeds_ok'] == '3' and summary['bb']['seeds_ok'] == '2'
    assert float(summary['a']['AP_mean']) == pytest.approx(0.31)
    assert float(summary['a']['AP_std']) == pytest.approx(0.01)
    # bb: seeds 0 and 2 -> 0.40 and 0.42
    assert float(summary['bb']['AP_mean']) == pytest.approx(0.41)
    assert float(summary['bb']['params_M']) == 3.0
    comparison = {(r['name'], r['metric']): r
                  for r in _csv(osp.join(out, 'comparison.csv'))}
    ap = comparison[('bb', 'AP')]
    # 0.41 - 0.31, se^2 = 0.0001 / 3 + 0.0002 / 2, Welch dof 32/19:
    # half width t(0.975, 1.68) * 0.011547 = 0.0598 < 0.10
    assert float(ap['diff']) == pytest.approx(0.10)
    assert float(ap['dof']) == pytest.approx(32 / 19)
    assert ap['verdict'] == 'better'
    assert comparison[('a', 'AP')]['verdict'] == 'reference'
    md = open(osp.join(out, 'results.md')).read()
    assert '| a (reference) | 3/3 |' in md
    assert '| bb | 2/3 |' in md
    assert '`bb` seed 1: RuntimeError: worker exited with 1: ' \
        'RuntimeError: seed 1 fails on purpose' in md
    assert osp.getsize(osp.join(out, 'results.png')) > 10_000

    # rerun: the finished seeds are skipped, the failed one is tried again
    make([0, 1, 2]).run()
    assert _calls(out, 'a') == [0, 1, 2]
    assert _calls(out, 'bb') == [0, 1, 2, 1]
    # one more seed: only it is trained
    records = make([0, 1, 2, 3]).run()
    assert _calls(out, 'a') == [0, 1, 2, 3]
    assert _calls(out, 'bb') == [0, 1, 2, 1, 1, 3]
    assert len(records) == 8


def test_reference_option_and_single_seed(fake_sweep):
    make, out = fake_sweep
    make([0], reference='bb').run()
    md = open(osp.join(out, 'results.md')).read()
    assert '| bb (reference) | 1/1 |' in md
    verdicts = {(r['name'], r['metric']): r['verdict']
                for r in _csv(osp.join(out, 'comparison.csv'))}
    assert verdicts[('a', 'AP')] == ('no verdict: 1 vs 1 seeds, needs at '
                                     'least 2 per side')


def test_a_changed_config_is_not_silently_reused(fake_sweep, tmp_path):
    make, out = fake_sweep
    make([0]).run()
    with pytest.raises(ValueError, match=r'a seed 0: .*another config'):
        make([0], cfg_options={'fake_ap': 0.5}).run()
    assert _calls(out, 'a') == [0]  # nothing trained


def _sweep_tool():
    return load_script('tools/sweep.py')


def test_report_only_rebuilds_the_reports_from_the_tables(
        fake_sweep, monkeypatch):
    """``tools/sweep.py --report-only`` writes from results.csv and
    summary.csv the very files the sweep wrote, trains nothing, and keeps
    the reference of the old comparison."""
    make, out = fake_sweep
    make([0, 1, 2], reference='bb').run()
    reports = ('results.csv', 'summary.csv', 'comparison.csv', 'results.md')
    written = {}
    for name in reports:
        with open(osp.join(out, name), 'rb') as f:
            written[name] = f.read()
    for name in ('comparison.csv', 'results.md', 'results.png'):
        os.remove(osp.join(out, name))
    with open(osp.join(out, 'comparison.csv'), 'w') as f:
        f.write('name,reference\na,bb\n')
    tool = _sweep_tool()
    tool.main(['--report-only', '--out', out])
    for name in reports:
        with open(osp.join(out, name), 'rb') as f:
            assert f.read() == written[name], name
    assert osp.getsize(osp.join(out, 'results.png')) > 10_000
    assert _calls(out, 'a') == [0, 1, 2]  # nothing trained
    # the configs are named relative to the working directory
    monkeypatch.chdir(osp.dirname(out))
    tool.main(['--report-only', '--out', 'out', '--reference', 'a',
               '--title', 'Again'])
    rows = _csv(osp.join(out, 'results.csv'))
    assert {r['config'] for r in rows} == {'a.py', 'b.py'}
    assert open(osp.join(out, 'results.md')).read().startswith(
        '# Again\n\n2 runs, seeds 0, 1, 2; reference run: `a`.')


@pytest.mark.parametrize('argv, message', [
    (['--report-only', '--out', 'x', 'a.py'], 'takes no configs'),
    (['--report-only', '--out', 'x', '--epochs', '3'], 'takes no --epochs'),
    (['--out', 'x'], 'give the configs'),
])
def test_report_only_takes_no_training_options(argv, message, capsys):
    with pytest.raises(SystemExit):
        _sweep_tool().parse_args(argv)
    assert message in capsys.readouterr().err


def test_report_only_needs_the_tables(tmp_path):
    with pytest.raises(FileNotFoundError, match='results.csv not found'):
        _sweep_tool().main(['--report-only', '--out', str(tmp_path)])


def test_a_schedule_that_cannot_be_rescaled_stops_the_sweep_first(
        fake_sweep):
    make, out = fake_sweep
    with pytest.raises(ValueError, match=r'a: .*train_cfg.max_epochs'):
        make([0], epochs=3).run()
    assert not osp.exists(osp.join(out, 'a'))


# ---------------------------------------------------------------------------
# Real trainings (one iteration each).
def test_smoke_sweep_with_seeds_collects_table_plot_and_latency(
        tiny, tmp_path):
    """One config from two seeds: trained, counted once, timed once."""
    root, config = tiny
    out = str(tmp_path / 'out')
    records = Sweeper([SweepRun('xs', config)], out, seeds=[0, 1],
                      shape=(64, 64), latency_repeat=2,
                      latency_rounds=1).run()
    assert [(r['seed'], r['status']) for r in records] == [(0, 'ok'),
                                                           (1, 'ok')]
    for r in records:
        assert 0 <= r['AP'] <= 1 and r['AP50'] is not None
        assert osp.isfile(r['checkpoint'])
    with open(osp.join(out, 'latency.json')) as f:
        (report, ) = json.load(f)
    # one checkpoint per run is timed, whatever the number of seeds
    assert {row['model'] for row in report['results']} == {'xs'}
    assert len({row['checkpoint'] for row in report['results']}) == 1
    (xs, ) = _csv(osp.join(out, 'summary.csv'))
    assert xs['seeds_ok'] == '2' and xs['AP_std'] != ''
    assert float(xs['forward_ms']) > 0
    assert float(xs['latency_p90_ms']) >= float(xs['latency_ms'])
    expected = get_complexity(osp.join(out, 'xs', 'seed0', 'config.py'),
                              (64, 64))
    assert float(xs['params_M']) == pytest.approx(expected['params'] / 1e6)
    assert float(xs['flops_G']) == pytest.approx(expected['flops'] / 1e9)
    md = open(osp.join(out, 'results.md')).read()
    assert '| xs (reference) | 2/2 |' in md
    assert osp.getsize(osp.join(out, 'results.png')) > 10_000

    # Rerun: the Runner has dumped its own config.py over the sweep's
    # (adding work_dir and launcher); the finished seeds are still the
    # same config and are skipped, not refused nor trained again.
    dumped = osp.join(out, 'xs', 'seed0', 'config.py')
    assert Config.fromfile(dumped).work_dir == osp.join(out, 'xs', 'seed0')
    log = osp.join(out, 'xs', 'seed0', 'worker.log')
    size = osp.getsize(log)
    again = Sweeper([SweepRun('xs', config)], out, seeds=[0, 1],
                    shape=(64, 64), latency=False).run()
    assert [(r['seed'], r['AP']) for r in again] == [
        (r['seed'], r['AP']) for r in records]
    assert osp.getsize(log) == size
    # a changed option still is refused
    with pytest.raises(ValueError, match='xs seed 0: .*another config'):
        Sweeper([SweepRun('xs', config)], out, seeds=[0],
                cfg_options={'optim_wrapper.optimizer.lr': 0.5}).check()


# A hook that kills its own training process (SIGKILL, as an out-of-memory
# kill or a lost machine would) right after the checkpoint of its first
# iteration; the resumed training starts after that iteration.
KILL_HOOK = '''
import os
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SweepTestKillHook(Hook):
    priority = 'LOWEST'  # after CheckpointHook

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter == 0:
            os.kill(os.getpid(), signal.SIGKILL)
'''


def test_a_killed_and_resumed_seed_is_skipped_on_a_rerun(
        tiny, tmp_path, monkeypatch):
    """The worker is killed mid-training, the next run of the sweep resumes
    it (the Runner then dumps a config.py with ``resume=True``), and a
    third run skips the finished seed instead of refusing it (the smoke
    test above reruns seeds that were not interrupted)."""
    root, _ = tiny
    _write(tmp_path / 'sweep_test_kill_hook.py', KILL_HOOK)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join(
        [str(tmp_path)] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    base = tiny_train_config(str(root / 'data'), str(tmp_path / 'base'),
                             max_iters=2)
    config = _write(tmp_path / 'killed.py', f'''
_base_ = {base!r}
custom_imports = dict(imports=['mmyoloms', 'sweep_test_kill_hook'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='SweepTestKillHook')]
''')
    out = str(tmp_path / 'out')

    def sweep(**kwargs):
        return Sweeper([SweepRun('xs', config)], out, seeds=[0],
                       shape=(64, 64), latency=False, **kwargs)

    seed0 = osp.join(out, 'xs', 'seed0')
    (first, ) = sweep().run()
    assert first['status'] == 'failed'
    assert 'worker exited with -9' in first['error']
    assert osp.isfile(osp.join(seed0, 'iter_1.pth'))
    assert not osp.exists(osp.join(seed0, 'iter_2.pth'))

    second = sweep().run()
    assert second[0]['status'] == 'ok'
    assert second[0]['checkpoint'].endswith('iter_2.pth')
    # the Runner's dump of the resumed training
    resumed = Config.fromfile(osp.join(seed0, 'config.py'))
    assert resumed.resume is True and resumed.load_from is None

    log = osp.join(seed0, 'worker.log')
    size = osp.getsize(log)
    assert sweep().run() == second
    assert osp.getsize(log) == size  # nothing trained
    with pytest.raises(ValueError, match='xs seed 0: .*another config'):
        sweep(cfg_options={'optim_wrapper.optimizer.lr': 0.5}).check()


def test_params_and_flops_are_counted_anew_for_a_changed_model(
        tiny, tmp_path, monkeypatch):
    """complexity.json is reused for the same model and shape only."""
    import mmyoloms.analysis
    root, config = tiny
    calls = []

    def counted(model, shape):
        calls.append(shape)
        return get_complexity(model, shape)

    monkeypatch.setattr(mmyoloms.analysis, 'get_complexity', counted)
    run = SweepRun('xs', config)
    sweeper = Sweeper([run], str(tmp_path / 'out'), latency=False)
    dumped = osp.join(sweeper.seed_dir('xs', 0), 'config.py')
    os.makedirs(osp.dirname(dumped))
    records = [dict(name='xs', seed=0, status='ok', shape=[64, 64])]
    cfg = sweeper.build_config(run, 0)
    cfg.dump(dumped)
    first = sweeper.complexity(run, records)
    assert sweeper.complexity(run, records) == first
    assert len(calls) == 1  # the same model and shape: read back

    # the run's config now builds another model (two more classes)
    cfg.merge_from_dict({'model.bbox_head.head_module.num_classes': 4})
    cfg.dump(dumped)
    second = sweeper.complexity(run, records)
    assert len(calls) == 2
    expected = get_complexity(dumped, (64, 64))
    assert second['params_M'] == pytest.approx(expected['params'] / 1e6)
    assert second['flops_G'] == pytest.approx(expected['flops'] / 1e9)
    assert second['params_M'] > first['params_M']


MMDET_SHAPES = '''
_base_ = {base!r}
data_root = {data_root!r}
img_scale = (128, 128)
metainfo = dict(classes=('ellipse', 'triangle', 'rectangle', 'star', 'cross'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor'))
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo,
                 ann_file='annotations/instances_val.json',
                 data_prefix=dict(img='val/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
model = dict(roi_head=dict(bbox_head=dict(num_classes=5)))
'''


def test_smoke_sweep_over_an_mmdet_two_stage_config(tmp_path):
    """Faster R-CNN with the YOLO-MS-S backbone (an MMDet-scope config)
    trains two iterations on tiny shapes data through the sweep, its 1x
    step schedule rescaled to one epoch, and is counted."""
    data = make_tiny_shapes(str(tmp_path / 'shapes'), num_train=4,
                            num_val=2) + '/'
    config = _write(tmp_path / 'faster-rcnn_shapes.py',
                    MMDET_SHAPES.format(base=FASTER_RCNN, data_root=data))
    out = str(tmp_path / 'out')
    (record, ) = Sweeper([SweepRun('faster-rcnn', config)], out, epochs=1,
                         latency_repeat=1, latency_rounds=1).run()
    assert record['status'] == 'ok', record.get('error')
    assert 0 <= record['AP'] <= 1
    dumped = Config.fromfile(osp.join(out, 'faster-rcnn', 'seed0',
                                      'config.py'))
    assert dumped.default_scope == 'mmdet'
    assert dumped.train_cfg.max_epochs == 1
    assert dumped.param_scheduler[1].milestones == []
    (row, ) = _csv(osp.join(out, 'summary.csv'))
    # 22,185,886 params with 80 classes (DESIGN/README table); 5 classes
    # shrink fc_cls 1025 x (81 -> 6) and fc_reg 1025 x (320 -> 20):
    # -384,375
    assert round(float(row['params_M']) * 1e6) == 22_185_886 - 384_375
    # the benchmark harness times mmyolo detectors only: the two-stage
    # detector is listed as not measured, with the reason
    assert row['forward_ms'] == row['latency_ms'] == ''
    assert 'FasterRCNN' in row['latency_error'], row['latency_error']
    md = open(osp.join(out, 'results.md')).read()
    assert f'- `faster-rcnn`: latency ({row["latency_error"]})' in md
    flops = get_complexity(config, (128, 128))['flops']
    assert float(row['flops_G']) == pytest.approx(flops / 1e9)
    assert flops > 0
