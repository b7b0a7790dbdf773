"""Markdown tables of the measurements of :mod:`mmyoloms.profiling`:
latency (:func:`format_latency_table`), operator profiles of deployed
graphs (:func:`format_operator_profile`, :func:`format_top_nodes`) and the
training step (:func:`format_training_profile`,
:func:`format_training_comparison`)."""
from typing import Optional

from .latency import STAGES
from .training import OP_GROUPS, PHASES


def format_latency_table(report: dict) -> str:
    """Markdown table of a :func:`~mmyoloms.profiling.run_benchmark`
    report (or any ``dict(results=[LatencyRecord dicts])`` with every
    stage): one row per (model, backend), median / p90 ms of each stage
    and images/s end to end."""
    rows = {}
    for r in report['results']:
        rows.setdefault((r['model'], r['backend']), {})[r['stage']] = r
    header = ('| model | backend | ' + ' | '.join(
        f'{s} median / p90 ms' for s in STAGES) + ' | end2end img/s |')
    lines = [header, '|' + ' --- |' * (len(STAGES) + 3)]
    for (model, backend), stages in rows.items():
        cells = [
            f'{stages[s]["median_ms"]:.1f} / {stages[s]["p90_ms"]:.1f}'
            for s in STAGES
        ]
        lines.append(f'| {model} | {backend} | ' + ' | '.join(cells) +
                     f' | {stages["end2end"]["images_per_s"]:.2f} |')
    return '\n'.join(lines)


def _share(ms: float, total: float) -> str:
    return f'{ms / total:.0%}' if total > 0 else '-'


def format_operator_profile(profile: dict, title: Optional[str] = None,
                   min_share: float = 0.01) -> str:
    """Markdown table of an operator profile's ``by_type``
    (:mod:`mmyoloms.profiling.operators`; types under ``min_share`` of
    the total summed into one row)."""
    if not 0 <= min_share <= 1:
        raise ValueError(f'min_share must be in [0, 1], got {min_share}')
    total = profile['total_ms']
    lines = [f'**{title}** ({total:.1f} ms of operator time per run)'
             if title else f'{total:.1f} ms of operator time per run', '',
             '| operator | ms | share |', '| --- | --- | --- |']
    rest = 0.
    for name, ms in profile['by_type'].items():
        if ms < min_share * total:
            rest += ms
            continue
        lines.append(f'| {name} | {ms:.1f} | {_share(ms, total)} |')
    if rest:
        lines.append(f'| (others) | {rest:.1f} | {_share(rest, total)} |')
    return '\n'.join(lines)


def format_top_nodes(profile: dict) -> str:
    """Markdown table of a profile's ``top_nodes`` (ms per run and share of
    the total), largest first."""
    total = profile['total_ms']
    lines = ['| node | ms | share |', '| --- | --- | --- |']
    lines += [f'| {name} | {ms:.2f} | {_share(ms, total)} |'
              for name, ms in profile['top_nodes'].items()]
    return '\n'.join(lines)


def format_training_profile(result: dict, top: int = 12) -> str:
    """Markdown tables of a :func:`~mmyoloms.profiling.profile_training`
    result: the phases of an iteration, then the top operators of each
    group."""
    phases = dict(result['phases'])
    iteration = phases.pop('iteration')
    lines = [
        f"{result['images_per_s']:.2f} images/s over {result['iters']} "
        f"iterations of {result['batch_size']} images "
        f"({result['seconds_per_iter'] * 1e3:.0f} ms per iteration; "
        f"median iteration {iteration * 1e3:.0f} ms = "
        f"{result['median_images_per_s']:.2f} images/s); "
        f"{result['threads']} torch threads",
        '',
        '| phase | ms per iteration (median) | share |',
        '| --- | ---: | ---: |',
    ]
    order = [k for k, _ in PHASES]
    labels = dict(PHASES)
    rest = sorted((k for k in phases if k not in order and k != 'other'),
                  key=lambda k: -phases[k])
    for key in order + rest + ['other']:
        if key in phases:
            lines.append(f'| {labels.get(key, key)} | '
                         f'{phases[key] * 1e3:.1f} | '
                         f'{phases[key] / iteration:.1%} |')
    lines.append(f'| **iteration** | **{iteration * 1e3:.1f}** | 100% |')
    for group, _ in OP_GROUPS:
        ops = result['ops'].get(group)
        if not ops:
            continue
        total = sum(ms for _, ms, _ in ops)
        lines += ['', f'**{group}**: {total:.1f} ms of operator self time '
                  'per iteration', '',
                  '| operator | ms per iteration | share | calls |',
                  '| --- | ---: | ---: | ---: |']
        for name, ms, calls in ops[:top]:
            lines.append(f'| `{name}` | {ms:.1f} | {ms / total:.1%} | '
                         f'{calls:.0f} |')
    return '\n'.join(lines)


def format_training_comparison(results: dict) -> str:
    """A Markdown table of a
    :func:`~mmyoloms.profiling.compare_training_speed` result."""
    lines = ['| run | images/s (median of rounds) | ratio | rounds | '
             'mean-based images/s per round |',
             '| --- | ---: | ---: | --- | --- |']
    for name, res in results.items():
        rounds = ', '.join(f'{v:.2f}' for v in res['rounds'])
        means = ', '.join(f'{v:.2f}' for v in res['mean_images_per_s'])
        lines.append(f"| {name} | {res['images_per_s']:.2f} | "
                     f"{res['ratio']:.2f}x | {rounds} | {means} |")
    return '\n'.join(lines)
