"""make demo's logic (mmyoloms.apis.demo, tools/run_demo.py): a fixed-epoch
run on a tiny shapes dataset leaves its figures and pictures, a repeated
command resumes it, other settings are refused; the time-budget mode plans
its epochs from a timing run."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmyoloms.apis.demo import plan_epochs, run_demo
from ..conftest import REPO_ROOT
from ..shapes_utils import SHAPES_CONFIG


def _tool(*args):
    return subprocess.run(
        [sys.executable, 'tools/run_demo.py', *args], cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=400,
        env=dict(os.environ, PYTHONWARNINGS='ignore'))


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    args = ['--work-dir', str(root / 'work'), '--data-root',
            str(root / 'data'), '--num-train', '16', '--num-val', '8',
            '--epochs', '1', '--seed', '3', '--grid-images', '4']
    proc = _tool(*args)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return root, args, proc.stdout


def test_fixed_epoch_run_leaves_results(demo_run):
    root, _, log = demo_run
    work = root / 'work'
    with open(work / 'demo_results.json') as f:
        results = json.load(f)
    assert results['epochs'] == 1 and results['seed'] == 3
    assert results['budget_minutes'] is None
    assert set(results['metrics']) == {'AP', 'AP50', 'AP75', 'APs', 'APm',
                                       'APl'}
    assert osp.isfile(results['checkpoint'])
    thr = results['score_threshold']
    assert 0 <= thr['threshold'] <= 1 and 0 <= thr['f1'] <= 1
    for name in ('val_predictions.png', 'curves.png', 'demo_plan.json',
                 'val_predictions.bbox.json'):
        assert osp.isfile(work / name), name
    with open(work / 'demo_plan.json') as f:
        plan = json.load(f)
    assert plan['epochs'] == 1 and plan['val_interval'] == 1
    assert plan['seed'] == 3
    assert '| AP | AP50 |' in log
    assert 'ground truth left' in log


def test_repeated_command_resumes_and_other_settings_are_refused(demo_run):
    root, args, _ = demo_run
    proc = _tool(*args)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert 'resuming the run of' in proc.stdout
    # nothing left to train: no training iteration in this log
    assert 'Epoch(train)' not in proc.stdout + proc.stderr
    other = [a if a != '3' else '4' for a in args]  # another seed
    proc = _tool(*other)
    assert proc.returncode != 0
    assert 'interrupted run planned with other settings' in proc.stderr
    assert "'seed': (3, 4)" in proc.stderr


def test_time_budget_plans_from_a_timing_run(tmp_path):
    # a budget too small for more than one epoch still trains one, and
    # the plan records the measured speed (the tool in its own process, as
    # make demo runs it)
    proc = _tool('--work-dir', str(tmp_path / 'work'), '--data-root',
                 str(tmp_path / 'data'), '--minutes', '0.2', '--num-train',
                 '24', '--num-val', '8', '--grid-images', '2')
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert '[demo] timing' in proc.stdout
    with open(tmp_path / 'work' / 'demo_results.json') as f:
        results = json.load(f)
    assert results['epochs'] == 1 and results['budget_minutes'] == 0.2
    with open(tmp_path / 'work' / 'demo_plan.json') as f:
        plan = json.load(f)
    assert plan['seconds_per_iter'] > 0 and plan['val_seconds'] > 0


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
