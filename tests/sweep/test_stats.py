"""The seed statistics against numbers computed by hand.

t quantiles from a printed table: t(0.975, 1) = 12.706, t(0.975, 2) =
4.303, t(0.975, 4) = 2.776, t(0.975, 6) = 2.447, t(0.975, 8) = 2.306,
t(0.975, 10) = 2.228; t(0.80, 6) = 0.906, t(0.80, 8) = 0.889,
t(0.80, 10) = 0.879.
"""
import math

import pytest

from mmyoloms.sweep.stats import (BETTER, WITHIN_NOISE, WORSE,
                                  seeds_to_resolve, summarize, t_quantile,
                                  verdict, welch_difference)

A = [0.30, 0.32, 0.34]  # mean 0.32, squared deviations 0.0008, std 0.02
B = [0.25, 0.29]  # mean 0.27, std sqrt(0.0008) = 0.028284


def test_t_quantiles_match_the_table():
    assert t_quantile(1) == pytest.approx(12.706, abs=5e-4)
    assert t_quantile(2) == pytest.approx(4.303, abs=5e-4)
    assert t_quantile(4) == pytest.approx(2.776, abs=5e-4)
    with pytest.raises(ValueError, match='dof'):
        t_quantile(0)


def test_summary_of_three_seeds():
    s = summarize(A)
    assert s['n'] == 3
    assert s['mean'] == pytest.approx(0.32)
    assert s['std'] == pytest.approx(0.02)
    # 4.303 * 0.02 / sqrt(3) = 0.04968
    assert s['ci_low'] == pytest.approx(0.32 - 0.04968, abs=1e-4)
    assert s['ci_high'] == pytest.approx(0.32 + 0.04968, abs=1e-4)
    # a failed seed (None) is left out
    assert summarize([0.30, None, 0.32, 0.34]) == s


def test_summary_of_two_seeds_one_seed_and_none():
    s = summarize(B)
    assert s['std'] == pytest.approx(math.sqrt(0.0008))
    # 12.706 * 0.028284 / sqrt(2) = 12.706 * 0.02 = 0.2541
    assert s['ci_high'] - s['mean'] == pytest.approx(0.2541, abs=1e-3)
    assert summarize([0.4]) == dict(n=1, mean=0.4, std=None, ci_low=None,
                                    ci_high=None)
    assert summarize([None]) == dict(n=0, mean=None, std=None, ci_low=None,
                                     ci_high=None)


def test_welch_equal_sizes_and_spreads():
    # se = sqrt(2 * 0.0004 / 3) = 0.016330; dof = 2 (n - 1) = 4;
    # half width 2.776 * 0.016330 = 0.045338
    d = welch_difference(A, [0.20, 0.22, 0.24])
    assert d['diff'] == pytest.approx(0.10)
    assert d['se'] == pytest.approx(0.016330, abs=1e-6)
    assert d['dof'] == pytest.approx(4)
    assert d['ci_low'] == pytest.approx(0.10 - 0.045338, abs=1e-5)
    assert d['ci_high'] == pytest.approx(0.10 + 0.045338, abs=1e-5)
    assert verdict(d) == BETTER
    assert verdict(welch_difference([0.20, 0.22, 0.24], A)) == WORSE
    # 0.02 +- 0.045338 contains 0
    assert verdict(welch_difference(A, [0.28, 0.30, 0.32])) == WITHIN_NOISE


def test_welch_satterthwaite_dof_with_unequal_sizes():
    # va = 0.0004 / 3 = 1/7500, vb = 0.0008 / 2 = 3/7500, se^2 = 1/1875;
    # dof = se^4 / (va^2 / 2 + vb^2 / 1) = 32/19 = 1.6842
    d = welch_difference(A, B)
    assert d['diff'] == pytest.approx(0.05)
    assert d['se'] == pytest.approx(math.sqrt(1 / 1875))
    assert d['dof'] == pytest.approx(32 / 19)
    half = d['ci_high'] - d['diff']
    assert d['diff'] - d['ci_low'] == pytest.approx(half)
    # t(0.975, 1.684) lies between t(0.975, 2) and t(0.975, 1)
    assert 4.303 * d['se'] < half < 12.706 * d['se']
    assert half == pytest.approx(t_quantile(32 / 19) * math.sqrt(1 / 1875))
    assert verdict(d) == WITHIN_NOISE
    # one side without spread: dof = (n_b - 1) = 2
    d = welch_difference([0.3, 0.3], [0.20, 0.22, 0.24])
    assert d['dof'] == pytest.approx(2)


def test_no_verdict_without_two_seeds_per_side_or_any_spread():
    d = welch_difference([0.5], A)
    assert d['diff'] == pytest.approx(0.18) and d['ci_low'] is None
    assert verdict(d) == ('no verdict: 1 vs 3 seeds, needs at least 2 per '
                          'side')
    assert verdict(welch_difference(A, [0.1, None])).startswith(
        'no verdict: 3 vs 1 seeds')
    d = welch_difference([0.3, 0.3], [0.2, 0.2])
    assert d['diff'] == pytest.approx(0.1) and d['dof'] is None
    assert verdict(d) == 'no verdict: no spread over the seeds on either side'
    d = welch_difference([], A)
    assert d['diff'] is None and verdict(d).startswith('no verdict: 0 vs 3')


def test_seeds_to_resolve_by_hand():
    # std 1 on both sides: n seeds per side give dof = 2 (n - 1) and
    # need (t(0.975, dof) + t(0.80, dof)) * sqrt(2 / n):
    # n = 4: (2.447 + 0.906) * 0.7071 = 2.371
    # n = 5: (2.306 + 0.889) * 0.6325 = 2.021
    # n = 6: (2.228 + 0.879) * 0.5774 = 1.794
    assert seeds_to_resolve(2.0, 1.0, 1.0) == 6
    assert seeds_to_resolve(-2.0, 1.0, 1.0) == 6  # either direction
    assert seeds_to_resolve(2.1, 1.0, 1.0) == 5
    assert seeds_to_resolve(2.4, 1.0, 1.0) == 4
    # scale-free: the same ratios in AP units
    assert seeds_to_resolve(0.02, 0.01, 0.01) == 6
    # unequal spreads: std 0.03 and 0 give dof = n - 1, as a one-sample
    # interval; n = 9: (2.306 + 0.889) * 0.03 / 3 = 0.03195
    assert seeds_to_resolve(0.032, 0.03, 0.0) == 9
    assert seeds_to_resolve(0.0319, 0.03, 0.0) == 10


def test_seeds_to_resolve_limits_and_bad_arguments():
    assert seeds_to_resolve(0.0, 1.0, 1.0) is None  # never found
    assert seeds_to_resolve(2.0, 1.0, 1.0, max_seeds=5) is None
    assert seeds_to_resolve(2.0, 1.0, 1.0, max_seeds=6) == 6
    assert seeds_to_resolve(100.0, 1.0, 1.0) == 2  # the least with a spread
    assert seeds_to_resolve(0.1, 0.0, 0.0) is None  # no spread to plan from
    # a higher power needs more seeds
    assert seeds_to_resolve(2.0, 1.0, 1.0, power=0.9) > 6
    with pytest.raises(ValueError, match='std'):
        seeds_to_resolve(0.1, -0.01, 0.01)
    with pytest.raises(ValueError, match='power'):
        seeds_to_resolve(0.1, 0.01, 0.01, power=1.0)
