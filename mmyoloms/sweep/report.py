"""The tables and the plot of a sweep, from its per-seed records.

Files written to the sweep's output directory:

* ``results.csv``: one row per (run, seed): status, the six COCO AP
  figures, training time, error;
* ``summary.csv``: one row per run: seeds finished, mean, std and 95 %
  t-interval of every AP figure, params, FLOPs, latency (or why they were
  not measured), mean training time;
* ``comparison.csv``: one row per (run, metric): difference of means to
  the reference run, its 95 % Welch interval, degrees of freedom, the
  verdict and, where it is *within noise*, the seeds per side that a
  difference of this size would need at the measured spread (80 % power;
  :mod:`mmyoloms.sweep.stats`);
* ``results.md``: the same as readable tables;
* ``results.png``: AP (mean and 95 % interval over the seeds) against
  forward latency and against params, the reference marked.

``results.csv`` and ``summary.csv`` hold everything the others are made
from: :func:`rebuild_reports` writes the reports anew from them, without
the sweep's directories (``tools/sweep.py --report-only``).
"""
import csv
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from ..utils import COCO_BBOX_METRICS
from .stats import (MAX_SEEDS, POWER, REFERENCE, WITHIN_NOISE,
                    seeds_to_resolve, summarize, verdict, welch_difference)

METRICS = tuple(key for key, _ in COCO_BBOX_METRICS)
RUN_FIGURES = ('params_M', 'flops_G', 'forward_ms', 'latency_ms',
               'latency_p90_ms')
# why a run has no params/FLOPs or no latency
RUN_ERRORS = ('complexity_error', 'latency_error')
RESULT_COLUMNS = ('name', 'seed', 'status') + METRICS + ('train_s', 'config',
                                                         'error')
SUMMARY_COLUMNS = ('name', 'seeds', 'seeds_ok') + tuple(
    f'{m}_{s}' for m in METRICS
    for s in ('mean', 'std', 'ci95_low', 'ci95_high')) + RUN_FIGURES + (
        'train_s_mean', ) + RUN_ERRORS
COMPARISON_COLUMNS = ('name', 'reference', 'metric', 'n', 'n_ref', 'diff',
                      'ci95_low', 'ci95_high', 'dof', 'verdict',
                      'seeds_to_resolve')


def _ok_values(records: Sequence[Dict], name: str, key: str) -> list:
    return [
        r.get(key) for r in records
        if r['name'] == name and r['status'] == 'ok'
    ]


def summarize_runs(records: Sequence[Dict], runs: Dict[str, Dict],
                   names: Sequence[str]) -> List[Dict]:
    """One summary row per run name (see ``SUMMARY_COLUMNS``).

    Args:
        records (Sequence[dict]): Per-seed records (``name``, ``seed``,
            ``status``, metrics, ``train_s``).
        runs (dict): Per-run figures by name (params, FLOPs, latency).
        names (Sequence[str]): Run names, in table order.
    """
    rows = []
    for name in names:
        mine = [r for r in records if r['name'] == name]
        row = dict(name=name, seeds=len(mine),
                   seeds_ok=sum(r['status'] == 'ok' for r in mine))
        for metric in METRICS:
            s = summarize(_ok_values(records, name, metric))
            row.update({
                f'{metric}_mean': s['mean'],
                f'{metric}_std': s['std'],
                f'{metric}_ci95_low': s['ci_low'],
                f'{metric}_ci95_high': s['ci_high']
            })
        for key in RUN_FIGURES + RUN_ERRORS:
            row[key] = runs.get(name, {}).get(key)
        row['train_s_mean'] = summarize(_ok_values(records, name,
                                                   'train_s'))['mean']
        rows.append(row)
    return rows


def compare_runs(records: Sequence[Dict], names: Sequence[str],
                 reference: str) -> List[Dict]:
    """One comparison row per (run, metric) against ``reference``.

    A *within noise* row also gets ``seeds_to_resolve``
    (:func:`~mmyoloms.sweep.stats.seeds_to_resolve` of its observed
    difference at the two runs' measured spreads; None when more than
    1000 seeds per side would be needed).
    """
    rows = []
    for name in names:
        for metric in METRICS:
            if name == reference:
                rows.append(dict(name=name, reference=reference,
                                 metric=metric, verdict=REFERENCE))
                continue
            mine = _ok_values(records, name, metric)
            ref = _ok_values(records, reference, metric)
            d = welch_difference(mine, ref)
            row = dict(name=name, reference=reference, metric=metric,
                       n=d['n'], n_ref=d['n_ref'], diff=d['diff'],
                       ci95_low=d['ci_low'], ci95_high=d['ci_high'],
                       dof=d['dof'], verdict=verdict(d))
            if row['verdict'] == WITHIN_NOISE:
                # how many seeds a difference of this size would need
                row['seeds_to_resolve'] = seeds_to_resolve(
                    d['diff'], summarize(mine)['std'],
                    summarize(ref)['std'])
            rows.append(row)
    return rows


def shown_path(path: Optional[str]) -> Optional[str]:
    """``path`` relative to the working directory when it lies inside it
    (a report names ``configs/...``, not the machine's checkout), else as
    it is."""
    if not path or not osp.isabs(path):
        return path
    relative = osp.relpath(path)
    return path if relative.startswith(os.pardir) else relative


def _write_csv(path: str, columns: Sequence[str], rows: Sequence[Dict]):
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction='ignore')
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k) for k in columns})


def _num(value, digits: int = 3, sign: bool = False) -> str:
    if value is None:
        return '–'
    return f'{value:+.{digits}f}' if sign else f'{value:.{digits}f}'


def _seeds(comparison: Dict) -> str:
    """The ``seeds_to_resolve`` cell of a comparison row."""
    if comparison['verdict'] != WITHIN_NOISE:
        return '–'
    n = comparison.get('seeds_to_resolve')
    return f'> {MAX_SEEDS}' if n is None else str(n)


def _mean_ci(row: Dict, metric: str) -> str:
    mean, low = row[f'{metric}_mean'], row[f'{metric}_ci95_low']
    if mean is None:
        return '–'
    if low is None:
        return _num(mean)
    return f'{mean:.3f} ± {mean - low:.3f}'


def _markdown(records: Sequence[Dict], summary: Sequence[Dict],
              comparison: Sequence[Dict], reference: str,
              seeds: Sequence[int], runs: Dict[str, Dict],
              title: Optional[str]) -> str:
    lines = [f'# {title or "Sweep results"}', '']
    lines += [
        f'{len(summary)} runs, seeds {", ".join(map(str, seeds))}; '
        f'reference run: `{reference}`.', ''
    ]
    lines += [
        '## Runs', '',
        'AP figures: mean over the seeds that finished ± half-width of the '
        '95 % t-interval of the mean (`summary.csv` holds the std and '
        'the interval ends). Params and FLOPs (mmengine, multiply-adds) '
        'at the latency input size; forward: median latency of the '
        'network alone, batch 1; latency / p90: network, box decoding and '
        'NMS.', ''
    ]
    head = ['run', 'seeds ok', *METRICS, 'AP std', 'params (M)',
            'FLOPs (G)', 'forward (ms)', 'latency (ms)', 'p90 (ms)',
            'train (s)']
    lines += ['| ' + ' | '.join(head) + ' |',
              '|' + '---|' * len(head)]
    for row in summary:
        name = row['name'] + (' (reference)' if row['name'] == reference
                              else '')
        cells = [name, f'{row["seeds_ok"]}/{row["seeds"]}']
        cells += [_mean_ci(row, m) for m in METRICS]
        cells += [_num(row['AP_std']), _num(row['params_M']),
                  _num(row['flops_G']), _num(row['forward_ms'], 1),
                  _num(row['latency_ms'], 1), _num(row['latency_p90_ms'], 1),
                  _num(row['train_s_mean'], 0)]
        lines.append('| ' + ' | '.join(cells) + ' |')

    lines += [
        '', f'## Against `{reference}`', '',
        'Difference of means (run − reference) with its 95 % Welch '
        'interval. Verdict on AP: *better* / *worse* when the interval '
        'excludes 0, *within noise at this budget* when it contains 0; no '
        'verdict with fewer than 2 seeds on a side. Each interval is at '
        '95 % on its own: of k comparisons between runs that do not '
        'differ, about 0.05·k come out better or worse by chance. '
        'Seeds for ΔAP: where AP is within noise, the seeds per side with '
        'which a true difference as large as the observed one would be '
        f'found with {POWER * 100:.0f} % power, if the runs spread as they '
        'did here (a planning figure: the observed difference is noisy '
        'too).',
        ''
    ]
    head = ['run', 'verdict (AP)', 'seeds for ΔAP',
            *[f'Δ{m}' for m in METRICS]]
    lines += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    by_key = {(r['name'], r['metric']): r for r in comparison}
    for row in summary:
        name = row['name']
        if name == reference:
            continue
        ap = by_key[(name, 'AP')]
        cells = [name, ap['verdict'], _seeds(ap)]
        for metric in METRICS:
            c = by_key[(name, metric)]
            if c['diff'] is None:
                cells.append('–')
            elif c['ci95_low'] is None:
                cells.append(_num(c['diff'], sign=True))
            else:
                mark = {'better': ' ↑', 'worse': ' ↓'}.get(c['verdict'], '')
                cells.append(f'{_num(c["diff"], sign=True)} '
                             f'[{_num(c["ci95_low"], sign=True)}, '
                             f'{_num(c["ci95_high"], sign=True)}]{mark}')
        lines.append('| ' + ' | '.join(cells) + ' |')

    lines += ['', '## Per seed', '']
    head = ['run', 'seed', 'status', *METRICS, 'train (s)']
    lines += ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for r in records:
        cells = [r['name'], str(r['seed']), r['status']]
        cells += [_num(r.get(m)) for m in METRICS]
        cells.append(_num(r.get('train_s'), 0))
        lines.append('| ' + ' | '.join(cells) + ' |')

    failed = [r for r in records if r['status'] != 'ok']
    if failed:
        lines += ['', 'Failed:', '']
        lines += [
            f'- `{r["name"]}` seed {r["seed"]}: {r.get("error", "")}'
            for r in failed
        ]
    notes = [(name, key, info[key]) for name, info in runs.items()
             for key in RUN_ERRORS
             if info.get(key)]
    if notes:
        lines += ['', 'Not measured:', '']
        what = dict(latency_error='latency',
                    complexity_error='params/FLOPs')
        lines += [
            f'- `{name}`: {what[key]} ({error})'
            for name, key, error in notes
        ]
    return '\n'.join(lines) + '\n'


def plot(summary: Sequence[Dict], reference: str, path: str,
         title: Optional[str] = None) -> None:
    """AP (mean, 95 % interval) against forward latency and params."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, key, label in ((axes[0], 'forward_ms',
                            'forward latency (ms, batch 1, CPU, eager)'),
                           (axes[1], 'params_M', 'params (M)')):
        if all(row.get(key) is None or row.get('AP_mean') is None
               for row in summary):
            # e.g. a sweep run with --no-latency: say so, no empty axes
            ax.text(0.5, 0.5, 'not measured', ha='center', va='center',
                    transform=ax.transAxes, fontsize=12, color='0.4')
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(label, fontsize=11)
            continue
        for row in summary:
            x, y = row.get(key), row.get('AP_mean')
            if x is None or y is None:
                continue
            low, high = row['AP_ci95_low'], row['AP_ci95_high']
            yerr = None if low is None else [[y - low], [high - y]]
            ref = row['name'] == reference
            ax.errorbar(
                x, y, yerr=yerr, fmt='*' if ref else 'o',
                markersize=13 if ref else 6, capsize=4,
                color='tab:red' if ref else 'tab:blue', ecolor='0.45')
            ax.annotate(row['name'] + (' (reference)' if ref else ''),
                        (x, y), textcoords='offset points', xytext=(6, 5),
                        fontsize=9)
        ax.set_xlabel(label, fontsize=11)
        ax.set_ylabel('COCO bbox AP (mean, 95 % CI over seeds)',
                      fontsize=11)
        ax.grid(alpha=0.3)
        ax.margins(x=0.25, y=0.15)
    axes[0].set_title('AP against latency')
    axes[1].set_title('AP against params')
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def write_reports(records: Sequence[Dict],
                  runs: Dict[str, Dict],
                  out_dir: str,
                  reference: str,
                  seeds: Sequence[int],
                  names: Optional[Sequence[str]] = None,
                  title: Optional[str] = None) -> List[Dict]:
    """Write every report file of a sweep (see the module docstring).

    Args:
        records (Sequence[dict]): Per-(run, seed) records.
        runs (dict): Per-run figures by name (params, FLOPs, latency and
            their errors).
        out_dir (str): Output directory.
        reference (str): Name of the reference run.
        seeds (Sequence[int]): The sweep's seeds.
        names (Sequence[str], optional): Run order; defaults to the order
            of first appearance in ``records``.
        title (str, optional): Title of ``results.md`` and the plot.

    Returns:
        list[dict]: The summary rows.
    """
    if names is None:
        names = list(dict.fromkeys(r['name'] for r in records))
    order = {name: i for i, name in enumerate(names)}
    records = sorted(records, key=lambda r: (order[r['name']], r['seed']))
    summary = summarize_runs(records, runs, names)
    comparison = compare_runs(records, names, reference)
    _write_csv(osp.join(out_dir, 'results.csv'), RESULT_COLUMNS,
               [dict(r, config=shown_path(r.get('config')))
                for r in records])
    _write_csv(osp.join(out_dir, 'summary.csv'), SUMMARY_COLUMNS, summary)
    _write_csv(osp.join(out_dir, 'comparison.csv'), COMPARISON_COLUMNS,
               comparison)
    with open(osp.join(out_dir, 'results.md'), 'w') as f:
        f.write(
            _markdown(records, summary, comparison, reference, seeds, runs,
                      title))
    plot(summary, reference, osp.join(out_dir, 'results.png'), title)
    return summary


def _read_csv(path: str) -> List[Dict]:
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found: --report-only rebuilds the reports of a '
            'sweep directory from its results.csv and summary.csv')
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def _number(value: str, path: str, column: str) -> Optional[float]:
    if value == '':
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f'{path}: column {column} holds {value!r}, '
                         'expected a number or nothing')


def read_tables(out_dir: str) -> Tuple[List[Dict], Dict[str, Dict]]:
    """The per-seed records and per-run figures of a sweep, read back from
    the ``results.csv`` and ``summary.csv`` that :func:`write_reports`
    wrote into ``out_dir``.

    Returns:
        tuple[list[dict], dict]: The records (as ``write_reports`` takes
        them, in the file's order) and the per-run figures by name.

    Raises:
        FileNotFoundError: A table is missing.
        ValueError: A table lacks a column or holds something else than a
            number where a number belongs.
    """
    tables = {}
    # the error columns are newer than the figures: a summary without them
    # has no error to show
    for name, columns in (('results.csv', RESULT_COLUMNS),
                          ('summary.csv', SUMMARY_COLUMNS[:-len(RUN_ERRORS)])):
        path = osp.join(out_dir, name)
        rows = _read_csv(path)
        missing = [c for c in columns if rows and c not in rows[0]]
        if missing:
            raise ValueError(f'{path} lacks the columns {missing} (written '
                             'by an older version of the sweep?)')
        tables[name] = (path, rows)
    path, rows = tables['results.csv']
    records = []
    for row in rows:
        record = dict(name=row['name'], seed=int(row['seed']),
                      status=row['status'])
        for key in METRICS + ('train_s', ):
            record[key] = _number(row[key], path, key)
        for key in ('config', 'error'):
            if row[key]:
                record[key] = row[key]
        records.append(record)
    path, rows = tables['summary.csv']
    runs = {}
    for row in rows:
        info = {key: _number(row[key], path, key) for key in RUN_FIGURES}
        info.update({key: row[key] for key in RUN_ERRORS if row.get(key)})
        runs[row['name']] = info
    unknown = sorted({r['name'] for r in records} - set(runs))
    if unknown:
        raise ValueError(f'{tables["results.csv"][0]} has runs that '
                         f'summary.csv has not: {unknown}')
    return records, runs


def rebuild_reports(out_dir: str,
                    reference: Optional[str] = None,
                    title: Optional[str] = None) -> List[Dict]:
    """Write the reports of a sweep directory anew from its tables.

    Args:
        out_dir (str): The sweep's output directory.
        reference (str, optional): Reference run; defaults to the one of
            its ``comparison.csv``, else the first run.
        title (str, optional): Title of ``results.md`` and the plot.

    Returns:
        list[dict]: The summary rows.
    """
    records, runs = read_tables(out_dir)
    names = list(runs)
    if reference is None:
        comparison = osp.join(out_dir, 'comparison.csv')
        old = _read_csv(comparison) if osp.isfile(comparison) else []
        reference = old[0]['reference'] if old else names[0]
    if reference not in names:
        raise ValueError(f'reference {reference!r} is not a run of '
                         f'{out_dir}; runs: {names}')
    seeds = sorted({r['seed'] for r in records})
    return write_reports(records, runs, out_dir, reference, seeds, names,
                         title)
