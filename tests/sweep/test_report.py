"""The comparison tables of a sweep, from hand-made per-seed records."""
import csv
import os.path as osp

import pytest

from mmyoloms.sweep.report import METRICS, write_reports
from mmyoloms.sweep.stats import seeds_to_resolve


def _records(name, aps):
    return [
        dict(name=name, seed=seed, status='ok', train_s=10.0,
             **{m: ap for m in METRICS})
        for seed, ap in enumerate(aps)
    ]


def test_within_noise_rows_say_how_many_seeds_would_resolve_them(tmp_path):
    # ref: mean 0.32, std 0.02. near: mean 0.28, std 0.02 -> diff -0.04
    # with half width 2.776 * 0.01633 = 0.045: within noise. test_stats's
    # difference 2 at std 1, scaled by 0.02: 6 seeds per side at 80 %.
    # far: mean 0.20, std 0.02 -> worse, nothing to plan.
    records = (_records('ref', [0.30, 0.32, 0.34]) +
               _records('near', [0.26, 0.28, 0.30]) +
               _records('far', [0.18, 0.20, 0.22]))
    write_reports(records, {}, str(tmp_path), 'ref', [0, 1, 2])
    with open(tmp_path / 'comparison.csv', newline='') as f:
        rows = {(r['name'], r['metric']): r for r in csv.DictReader(f)}
    near, far = rows[('near', 'AP')], rows[('far', 'AP')]
    assert near['verdict'] == 'within noise at this budget'
    assert float(near['diff']) == pytest.approx(-0.04)
    assert int(near['seeds_to_resolve']) == 6
    assert int(near['seeds_to_resolve']) == seeds_to_resolve(
        -0.04, 0.02, 0.02)
    assert far['verdict'] == 'worse' and far['seeds_to_resolve'] == ''
    assert rows[('ref', 'AP')]['seeds_to_resolve'] == ''

    md = (tmp_path / 'results.md').read_text()
    assert '| run | verdict (AP) | seeds for ΔAP | ΔAP |' in md
    assert '| near | within noise at this budget | 6 | -0.040 [' in md
    assert '| far | worse | – | -0.120 [' in md


def test_a_difference_too_small_to_plan_for(tmp_path):
    # equal means: no number of seeds finds a zero difference
    records = (_records('ref', [0.30, 0.32, 0.34]) +
               _records('same', [0.34, 0.30, 0.32]))
    write_reports(records, {}, str(tmp_path), 'ref', [0, 1, 2])
    md = (tmp_path / 'results.md').read_text()
    assert '| same | within noise at this budget | > 1000 |' in md
    assert osp.isfile(tmp_path / 'summary.csv')
