"""make demo's logic (mmyoloms.apis.demo, tools/run_demo.py) on a tiny shapes
dataset: a fixed-epoch run leaves its figures and pictures with relative
paths; run again, a finished run prints its results without training and
an interrupted one continues; other settings (a changed time budget
included) are refused with one message; the time budget plans its epochs
from the measured speed (injected here, with a clock that stands still)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmyoloms.apis.demo import (WorkDirError, measure_speed, plan_epochs,
                                 run_demo)
from mmyoloms.utils import load_config
from ..conftest import REPO_ROOT
from ..shapes_utils import (SHAPES_CONFIG, make_tiny_shapes,
                            tiny_shapes_config)


def _tool(*args):
    return subprocess.run(
        [sys.executable, 'tools/run_demo.py', *args], cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=400,
        env=dict(os.environ, PYTHONWARNINGS='ignore'))


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    args = ['--work-dir', str(root / 'work'), '--data-root',
            str(root / 'data'), '--num-train', '8', '--num-val', '4',
            '--epochs', '1', '--seed', '3', '--grid-images', '4']
    proc = _tool(*args)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return root, args, proc.stdout


def _strings(data):
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    return [data] if isinstance(data, str) else []


def test_fixed_epoch_run_leaves_results(demo_run):
    root, _, log = demo_run
    work = root / 'work'
    with open(work / 'demo_results.json') as f:
        results = json.load(f)
    assert results['epochs'] == 1 and results['seed'] == 3
    assert results['budget_minutes'] is None and results['val_images'] == 4
    assert set(results['metrics']) == {'AP', 'AP50', 'AP75', 'APs', 'APm',
                                       'APl'}
    thr = results['score_threshold']
    assert 0 <= thr['threshold'] <= 1 and 0 <= thr['f1'] <= 1
    for name in ('val_predictions.png', 'curves.png', 'demo_plan.json',
                 'val_predictions.bbox.json'):
        assert osp.isfile(work / name), name
    with open(work / 'demo_plan.json') as f:
        plan = json.load(f)
    assert plan['epochs'] == 1 and plan['val_interval'] == 1
    assert plan['seed'] == 3 and plan['minutes'] is None
    # paths relative to the work dir, none of this machine's
    assert osp.isfile(work / results['checkpoint'])
    assert osp.normpath(work / results['config']) == SHAPES_CONFIG
    assert osp.normpath(work / plan['data_root']) == str(root / 'data')
    assert plan['config'] == results['config']
    for text in _strings(plan) + _strings(results):
        assert not osp.isabs(text), text
    assert '| AP | AP50 |' in log
    assert 'ground truth left' in log


def test_rerun_of_a_finished_demo_prints_its_results(demo_run):
    root, args, first_log = demo_run
    work = root / 'work'
    before = sorted(os.listdir(work))
    with open(work / 'demo_results.json') as f:
        results = f.read()
    proc = _tool(*args)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert 'holds the finished run of these settings' in proc.stdout
    table = first_log[first_log.index('| model |'):]
    table = table[:table.index('\n\n')]
    assert table in proc.stdout  # the same figures
    # no training and no test: no runner started, nothing written
    assert 'Epoch(' not in proc.stdout + proc.stderr
    assert sorted(os.listdir(work)) == before
    with open(work / 'demo_results.json') as f:
        assert f.read() == results


def test_other_settings_are_refused_with_one_message(demo_run):
    root, args, _ = demo_run
    other_seed = [a if a != '3' else '4' for a in args]
    proc = _tool(*other_seed)
    assert proc.returncode == 2
    assert 'planned with other settings' in proc.stderr
    assert 'seed: 3 there, 4 now' in proc.stderr
    assert 'Traceback' not in proc.stderr
    # a time budget in place of --epochs 1
    i = args.index('--epochs')
    budget = args[:i] + ['--minutes', '30'] + args[i + 2:]
    proc = _tool(*budget)
    assert proc.returncode == 2
    assert 'minutes: none (--epochs 1) there, 30.0 now' in proc.stderr
    assert 'seed:' not in proc.stderr  # only what differs is named


def test_time_budget_plans_from_the_measured_speed(tmp_path):
    calls = []

    def measure(cfg, val_images, iters_per_epoch):
        calls.append((val_images, iters_per_epoch))
        return dict(seconds_per_iter=10., val_seconds_per_image=1.)

    lines = []
    # the demo config without loader workers, in float32 (in this process)
    config = tiny_shapes_config(str(tmp_path / 'data'),
                                str(tmp_path / 'config.py'), max_epochs=10,
                                batch_size=8)
    kwargs = dict(work_dir=str(tmp_path / 'work'),
                  data_root=str(tmp_path / 'data'), num_train=8,
                  num_val=4, grid_images=2, log=lines.append,
                  clock=lambda: 100., measure=measure)
    results = run_demo(config, minutes=1.2, **kwargs)
    # 8 images in batches of 8: an epoch of 1 iteration, 1.1 * 10 s; a
    # validation 1.3 * 4 * 1 s; 72 s less one validation and 30 s leave
    # 36.8 s: 2 epochs with 2 validations (32.4 s) fit, 3 (48.6 s) do not
    assert calls == [(4, 1)]
    with open(tmp_path / 'work' / 'demo_plan.json') as f:
        plan = json.load(f)
    assert {k: plan[k] for k in ('epochs', 'val_interval', 'minutes',
                                 'seconds_per_iter', 'val_seconds')} == \
        dict(epochs=2, val_interval=1, minutes=1.2, seconds_per_iter=10.,
             val_seconds=5.2)
    assert results['epochs'] == 2 and results['budget_minutes'] == 1.2
    assert any('timing' in line and '2 epochs' in line for line in lines)

    # another budget in the same work dir: one message, nothing run
    with pytest.raises(WorkDirError, match='minutes: 1.2 there, 3 now'):
        run_demo(config, minutes=3, **kwargs)
    assert len(calls) == 1

    # the same budget again: the results, no new timing or runner
    work = tmp_path / 'work'
    before = sorted(os.listdir(work))
    lines.clear()
    assert run_demo(config, minutes=1.2, **kwargs) == results
    assert sorted(os.listdir(work)) == before and len(calls) == 1
    assert 'finished run' in lines[0]

    # stopped after training, before the results: continues with its
    # plan (nothing left to train) and evaluates the same checkpoint
    os.remove(work / 'demo_results.json')
    lines.clear()
    again = run_demo(config, minutes=1.2, **kwargs)
    assert len(calls) == 1
    assert any('continuing the interrupted run' in line for line in lines)
    assert again['metrics'] == results['metrics']
    assert again['checkpoint'] == results['checkpoint']


def test_measure_speed_times_the_config(tmp_path):
    # the timing run behind the time budget: profile_training's figures
    data = make_tiny_shapes(str(tmp_path / 'data'))
    cfg = load_config(tiny_shapes_config(data, str(tmp_path / 'c.py'),
                                         max_epochs=10))
    speed = measure_speed(cfg, val_images=2, iters_per_epoch=4)
    assert set(speed) == {'seconds_per_iter', 'val_seconds_per_image'}
    assert speed['seconds_per_iter'] > 0
    assert speed['val_seconds_per_image'] > 0


def test_a_checkpoint_without_a_plan_is_refused(tmp_path):
    (tmp_path / 'last_checkpoint').write_text('epoch_1.pth')
    with pytest.raises(WorkDirError, match='no demo_plan.json: not a demo'):
        run_demo(SHAPES_CONFIG, work_dir=str(tmp_path), epochs=1)


def test_plan_epochs():
    # 100 s epochs, 10 s validations, 1000 s: 9 epochs validated at 2, 4,
    # 6, 8, 9 (5 validations) take 950 s; 10 epochs would take 1050 s
    assert plan_epochs(1000, 100, 10) == dict(epochs=9, val_interval=2)
    assert plan_epochs(1000, 100, 0) == dict(epochs=10, val_interval=2)
    assert plan_epochs(50, 100, 10) == dict(epochs=1, val_interval=1)
    # 99 epochs validated every 20 and at 99: 9900 + 50 s
    assert plan_epochs(10000, 100, 10) == dict(epochs=99, val_interval=20)
    with pytest.raises(ValueError, match='epoch_s must be > 0'):
        plan_epochs(100, 0, 10)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='epochs must be an int >= 1'):
        run_demo(SHAPES_CONFIG, work_dir=str(tmp_path), epochs=0)
    with pytest.raises(ValueError, match='positive time budget'):
        run_demo(SHAPES_CONFIG, work_dir=str(tmp_path), minutes=0)
