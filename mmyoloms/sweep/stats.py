"""Seed statistics of a sweep: spread of a run, and run against reference.

A sweep trains every run once per seed. For one metric (say COCO AP) a run
then has values ``x_1..x_n``, one per seed that finished:

* :func:`summarize`: mean, sample standard deviation (``n - 1``) and the
  95 % confidence interval of the mean from Student's t distribution,
  ``mean +- t(0.975, n - 1) * std / sqrt(n)``;
* :func:`welch_difference`: the difference of two runs' means with Welch's
  95 % interval, which does not assume equal variances:
  ``se = sqrt(s_a^2 / n_a + s_b^2 / n_b)`` and the Welch-Satterthwaite
  degrees of freedom
  ``dof = se^4 / ((s_a^2 / n_a)^2 / (n_a - 1) + (s_b^2 / n_b)^2 / (n_b - 1))``,
  interval ``diff +- t(0.975, dof) * se``;
* :func:`verdict`: ``better`` / ``worse`` when that interval lies above /
  below zero, ``within noise at this budget`` when it contains zero, and no
  verdict with fewer than 2 seeds on either side (no spread to compare
  with).

Every interval is at 95 % on its own: among k comparisons of runs that do
not differ, about 0.05 k come out ``better`` or ``worse`` by chance.
The t quantiles are ``scipy.stats.t``'s.
"""
import math
from typing import Dict, Optional, Sequence

CONFIDENCE = 0.95

BETTER = 'better'
WORSE = 'worse'
WITHIN_NOISE = 'within noise at this budget'
REFERENCE = 'reference'


def _values(values: Sequence[Optional[float]]) -> list:
    """The finite numbers of ``values`` (a failed seed gives None)."""
    return [
        float(v) for v in values
        if v is not None and not (isinstance(v, float) and math.isnan(v))
    ]


def t_quantile(dof: float, confidence: float = CONFIDENCE) -> float:
    """Two-sided quantile ``t((1 + confidence) / 2, dof)`` of Student's t."""
    from scipy.stats import t
    if not dof > 0:
        raise ValueError(f'dof must be > 0, got {dof}')
    return float(t.ppf((1 + confidence) / 2, dof))


def summarize(values: Sequence[Optional[float]],
              confidence: float = CONFIDENCE) -> Dict:
    """Mean, std and t-interval of one run's per-seed values.

    Args:
        values (Sequence[float or None]): One value per seed; None (a seed
            that failed or has no figure) is left out.
        confidence (float): Level of the interval. Defaults to 0.95.

    Returns:
        dict: ``n``, ``mean``, ``std`` (sample, ``n - 1``), ``ci_low`` and
        ``ci_high``; ``std`` and the interval are None below 2 values,
        everything but ``n`` is None without values.
    """
    xs = _values(values)
    n = len(xs)
    out = dict(n=n, mean=None, std=None, ci_low=None, ci_high=None)
    if n == 0:
        return out
    mean = math.fsum(xs) / n
    out['mean'] = mean
    if n < 2:
        return out
    std = math.sqrt(math.fsum((x - mean)**2 for x in xs) / (n - 1))
    half = t_quantile(n - 1, confidence) * std / math.sqrt(n)
    out.update(std=std, ci_low=mean - half, ci_high=mean + half)
    return out


def welch_difference(values: Sequence[Optional[float]],
                     reference: Sequence[Optional[float]],
                     confidence: float = CONFIDENCE) -> Dict:
    """Difference of means (``values - reference``) with Welch's interval.

    Args:
        values (Sequence[float or None]): Per-seed values of a run.
        reference (Sequence[float or None]): Per-seed values of the
            reference run.
        confidence (float): Level of the interval. Defaults to 0.95.

    Returns:
        dict: ``n``, ``n_ref``, ``diff`` (None without values on a side),
        ``se``, ``dof`` (Welch-Satterthwaite), ``ci_low`` and ``ci_high``
        (None with fewer than 2 values on a side, or when both sides have
        zero spread: then the noise is not estimated).
    """
    a, b = _values(values), _values(reference)
    out = dict(n=len(a), n_ref=len(b), diff=None, se=None, dof=None,
               ci_low=None, ci_high=None)
    if not a or not b:
        return out
    sa, sb = summarize(a, confidence), summarize(b, confidence)
    out['diff'] = sa['mean'] - sb['mean']
    if len(a) < 2 or len(b) < 2:
        return out
    va, vb = sa['std']**2 / len(a), sb['std']**2 / len(b)
    se2 = va + vb
    if se2 == 0:
        return out
    dof = se2**2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    se = math.sqrt(se2)
    half = t_quantile(dof, confidence) * se
    out.update(se=se, dof=dof, ci_low=out['diff'] - half,
               ci_high=out['diff'] + half)
    return out


def verdict(difference: Dict) -> str:
    """A plain-words reading of :func:`welch_difference`'s result."""
    n, n_ref = difference['n'], difference['n_ref']
    if n < 2 or n_ref < 2:
        return (f'no verdict: {n} vs {n_ref} seeds, needs at least 2 per '
                'side')
    if difference['ci_low'] is None:
        return 'no verdict: no spread over the seeds on either side'
    if difference['ci_low'] > 0:
        return BETTER
    if difference['ci_high'] < 0:
        return WORSE
    return WITHIN_NOISE
