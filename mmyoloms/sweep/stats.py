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
* :func:`seeds_to_resolve`: for planning the next sweep, how many seeds
  per side a Welch comparison would need to find a true difference of a
  given size with 80 % power, if the two runs spread as measured: the
  smallest ``n >= 2`` with
  ``(t(0.975, dof_n) + t(0.80, dof_n)) * sqrt((s_a^2 + s_b^2) / n) <= |d|``,
  ``dof_n`` the Welch-Satterthwaite degrees of freedom at ``n`` seeds per
  side (the usual t approximation of the power of a two-sample test).

Every interval is at 95 % on its own: among k comparisons of runs that do
not differ, about 0.05 k come out ``better`` or ``worse`` by chance.
The t quantiles are ``scipy.stats.t``'s.
"""
import math
from typing import Dict, Optional, Sequence

CONFIDENCE = 0.95
POWER = 0.80
MAX_SEEDS = 1000

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
    if not dof > 0:
        raise ValueError(f'dof must be > 0, got {dof}')
    return _t_ppf((1 + confidence) / 2, dof)


def _t_ppf(probability: float, dof: float) -> float:
    from scipy.stats import t
    return float(t.ppf(probability, dof))


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


def seeds_to_resolve(difference: float,
                     std: float,
                     std_ref: float,
                     confidence: float = CONFIDENCE,
                     power: float = POWER,
                     max_seeds: int = MAX_SEEDS) -> Optional[int]:
    """Seeds per side to find ``difference`` with a Welch interval.

    The smallest number of seeds ``n`` per run (the same on both sides)
    for which a true difference of means ``difference`` would come out
    *better* or *worse* with probability ``power``, when the two runs
    spread over the seeds with standard deviations ``std`` and
    ``std_ref``: ``(t(c, dof_n) + t(power, dof_n)) * sqrt((std^2 +
    std_ref^2) / n) <= |difference|`` with ``c = (1 + confidence) / 2``
    and ``dof_n = (std^2 + std_ref^2)^2 (n - 1) / (std^4 + std_ref^4)``.

    Fed with a sweep's own observed difference it answers "how many seeds
    would a difference this large need at this spread"; the observed
    difference is itself noisy, so the answer is a planning figure, not a
    promise.

    Args:
        difference (float): Difference of means to resolve.
        std (float): Seed standard deviation of the run.
        std_ref (float): Seed standard deviation of the reference run.
        confidence (float): Level of the interval. Defaults to 0.95.
        power (float): Probability of a verdict other than *within noise*
            when the true difference is ``difference``. Defaults to 0.8.
        max_seeds (int): Search limit. Defaults to 1000.

    Returns:
        int or None: ``n >= 2``; None when even ``max_seeds`` seeds per
        side do not suffice (a zero difference never does) or when neither
        run spreads (no noise measured to plan from).
    """
    if std < 0 or std_ref < 0:
        raise ValueError(
            f'std and std_ref must be >= 0, got {std} and {std_ref}')
    if not 0.5 <= power < 1:
        raise ValueError(f'power must be in [0.5, 1), got {power}')
    var = std**2 + std_ref**2
    if var == 0:
        return None

    def resolves(n: int) -> bool:
        dof = var**2 * (n - 1) / (std**4 + std_ref**4)
        half = (t_quantile(dof, confidence) + _t_ppf(power, dof)) * \
            math.sqrt(var / n)
        return half <= abs(difference)

    if not resolves(max_seeds):
        return None
    # the needed difference falls with n: bisect for the smallest n
    low, high = 1, max_seeds  # resolves(high), and n = low is not tried
    while high - low > 1:
        mid = (low + high) // 2
        if resolves(mid):
            high = mid
        else:
            low = mid
    return high
