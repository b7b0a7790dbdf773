"""Run a set of configs and collect AP, params, FLOPs and latency.

For each :class:`~mmyoloms.sweep.runs.SweepRun`, in order:

1. its config is dumped to ``<out>/<name>/config.py``;
2. :mod:`mmyoloms.sweep.worker` trains it with the config's schedule and
   evaluates it (mmdet's ``CocoMetric`` through the config), in a subprocess
   or under ``torch.distributed.run`` (``launcher='pytorch'``);
3. params and FLOPs are counted by ``mmengine.analysis``;
4. the record goes to ``<out>/<name>/result.json``, and the tables and the
   plot are rewritten.

Then the trained checkpoints of all finished runs are timed together by the
benchmark harness of :mod:`mmyoloms.deploy`, in interleaved rounds, so that
a slow moment of the machine hits every run alike (``<out>/latency.json``
holds its report); each invocation of the sweep measures them anew.

A run with a ``result.json`` of status ``ok`` is not redone; an interrupted
run resumes from its latest checkpoint. A failing run is recorded with its
error and the sweep goes on.
"""
import csv
import json
import os
import os.path as osp
import subprocess
import sys
import time
import traceback
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from ..utils import COCO_BBOX_METRICS
from .runs import SweepRun

COLUMNS = ('name', 'status', 'AP', 'AP50', 'AP75', 'APs', 'APm', 'APl',
           'params_M', 'flops_G', 'forward_ms', 'latency_ms',
           'latency_p90_ms', 'train_s', 'config', 'error')
LATENCY_KEYS = (('forward_ms', 'forward', 'median_ms'),
                ('latency_ms', 'forward+nms', 'median_ms'),
                ('latency_p90_ms', 'forward+nms', 'p90_ms'))


def _tail(path: str, lines: int = 30) -> str:
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


def _error_line(log: str) -> str:
    """The most telling line of a failed run's log: its last exception."""
    for line in reversed(log.splitlines()):
        if 'Error' in line or 'Exception' in line:
            return line.strip()
    return (log.strip().splitlines() or ['worker failed'])[-1]


def count_complexity(cfg, shape: Tuple[int, int]) -> Tuple[float, float]:
    """Params (M) and FLOPs (G, mmengine's MAC count) of ``cfg.model``."""
    import torch
    from mmengine.analysis import get_model_complexity_info
    from mmengine.registry import DefaultScope, init_default_scope

    from mmyolo.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmyolo'))
    scope = DefaultScope.get_current_instance().scope_name
    if scope == 'mmdet':
        from mmdet.registry import MODELS as registry
    else:
        registry = MODELS
    model = registry.build(cfg.model).eval()
    with torch.no_grad():
        info = get_model_complexity_info(
            model, input_shape=(3, *shape), show_table=False,
            show_arch=False)
    return info['params'] / 1e6, info['flops'] / 1e9


def _plot(records: List[Dict], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    ok = [r for r in records if r['status'] == 'ok']
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, key, label in ((axes[0], 'forward_ms',
                            'forward latency (ms, batch 1, eager)'),
                           (axes[1], 'params_M', 'params (M)')):
        pts = [r for r in ok if r.get(key) is not None and
               r.get('AP') is not None]
        ax.scatter([r[key] for r in pts], [r['AP'] for r in pts])
        for r in pts:
            ax.annotate(r['name'], (r[key], r['AP']),
                        textcoords='offset points', xytext=(4, 4),
                        fontsize=8)
        ax.set_xlabel(label)
        ax.set_ylabel('bbox AP')
        ax.grid(alpha=0.3)
    axes[0].set_title('AP against latency')
    axes[1].set_title('AP against params')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _fmt(value, digits: int) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value)


def write_reports(records: List[Dict], out_dir: str) -> None:
    """``results.csv``, ``results.md`` and ``results.png`` in ``out_dir``."""
    with open(osp.join(out_dir, 'results.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction='ignore')
        writer.writeheader()
        for r in records:
            writer.writerow({k: r.get(k) for k in COLUMNS})
    digits = dict(AP=3, AP50=3, AP75=3, APs=3, APm=3, APl=3, params_M=3,
                  flops_G=3, forward_ms=1, latency_ms=1, latency_p90_ms=1,
                  train_s=0)
    md_cols = [c for c in COLUMNS if c not in ('config', 'error')]
    lines = ['| ' + ' | '.join(md_cols) + ' |',
             '|' + '---|' * len(md_cols)]
    for r in records:
        lines.append('| ' + ' | '.join(
            _fmt(r.get(c), digits.get(c, 3)) for c in md_cols) + ' |')
    failed = [r for r in records if r['status'] != 'ok']
    if failed:
        lines += ['', 'Failed runs:', '']
        lines += [f'- `{r["name"]}`: {r.get("error", "")}' for r in failed]
    untimed = [r for r in records if r.get('latency_error')]
    if untimed:
        lines += ['', 'Latency not measured:', '']
        lines += [f'- `{r["name"]}`: {r["latency_error"]}' for r in untimed]
    with open(osp.join(out_dir, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    _plot(records, osp.join(out_dir, 'results.png'))


class Sweeper:
    """Runs :class:`SweepRun` s one after another and collects the results.

    Args:
        runs (Sequence[SweepRun]): The runs.
        out_dir (str): Where run directories and reports go.
        cfg_options (dict, optional): Dotted-key overrides for every run
            (e.g. a shorter schedule). Defaults to None.
        seed (int, optional): ``randomness.seed`` of every run whose config
            (file, run overrides and ``cfg_options``) sets none, so that the
            runs start from the same random state and a rerun repeats a
            run. None leaves such runs to mmengine, which draws a random
            seed. Defaults to 0.
        shape (tuple[int, int], optional): (H, W) for FLOPs and latency;
            defaults to the config's ``img_scale`` (else 640x640).
        launcher (str): ``'none'`` (one process) or ``'pytorch'`` (each run
            under ``torch.distributed.run`` with ``gpus`` processes).
            Defaults to ``'none'``.
        gpus (int): Processes per run with ``launcher='pytorch'``.
            Defaults to 1.
        latency (bool): Time the trained models. Defaults to True.
        latency_repeat (int): Timed calls per model, stage and round.
            Defaults to 20.
        latency_rounds (int): Interleaved timing rounds. Defaults to 5.
        threads (int): CPU threads for timing. Defaults to 2.
        python (str): Interpreter for the worker. Defaults to this one.
    """

    def __init__(self,
                 runs: Sequence[SweepRun],
                 out_dir: str,
                 cfg_options: Optional[Dict] = None,
                 seed: Optional[int] = 0,
                 shape: Optional[Tuple[int, int]] = None,
                 launcher: str = 'none',
                 gpus: int = 1,
                 latency: bool = True,
                 latency_repeat: int = 20,
                 latency_rounds: int = 5,
                 threads: int = 2,
                 python: str = sys.executable) -> None:
        if launcher not in ('none', 'pytorch'):
            raise ValueError(
                f"launcher must be 'none' or 'pytorch', got {launcher!r}")
        # checked here, not after hours of training
        for key, value in dict(gpus=gpus, latency_repeat=latency_repeat,
                               latency_rounds=latency_rounds).items():
            if isinstance(value, bool) or not isinstance(
                    value, int) or value < 1:
                raise ValueError(f'{key} must be an int >= 1, got {value!r}')
        self.runs = list(runs)
        self.out_dir = out_dir
        self.cfg_options = dict(cfg_options or {})
        if seed is not None and (isinstance(seed, bool)
                                 or not isinstance(seed, int)):
            raise ValueError(f'seed must be an int or None, got {seed!r}')
        self.seed = seed
        self.shape = shape
        self.launcher = launcher
        self.gpus = gpus
        self.latency = latency
        self.latency_repeat = latency_repeat
        self.latency_rounds = latency_rounds
        self.threads = threads
        self.python = python

    def _worker_cmd(self, config: str, work_dir: str, out: str) -> List[str]:
        worker = ['-m', 'mmyoloms.sweep.worker', config, '--work-dir',
                  work_dir, '--out', out]
        if self.launcher == 'none':
            return [self.python] + worker
        return [
            self.python, '-m', 'torch.distributed.run',
            f'--nproc_per_node={self.gpus}',
            f'--master_port={os.environ.get("PORT", "29511")}'
        ] + worker + ['--launcher', 'pytorch']

    def _shape(self, cfg) -> Tuple[int, int]:
        if self.shape is not None:
            return tuple(self.shape)
        scale = cfg.get('img_scale', (640, 640))
        return int(scale[1]), int(scale[0])  # img_scale is (w, h)

    def _benchmark(self, records: List[Dict],
                   shape: Tuple[int, int]) -> dict:
        from mmyoloms.deploy.benchmark import run_benchmark
        return run_benchmark(
            [
                dict(name=r['name'],
                     config=osp.join(self.out_dir, r['name'], 'config.py'),
                     checkpoint=r['checkpoint']) for r in records
            ],
            backends=['pytorch'],
            shape=shape,
            threads=self.threads,
            repeat=self.latency_repeat,
            rounds=self.latency_rounds,
            work_dir=osp.join(self.out_dir, 'benchmark'),
            log=lambda msg: None)

    def measure_latency(self, records: List[Dict]) -> None:
        """Time the trained checkpoints of the finished runs, side by side.

        Eager PyTorch, batch 1, at each run's FLOPs shape, by the benchmark
        harness of :mod:`mmyoloms.deploy`, in ``latency_rounds``
        interleaved rounds. Sets ``forward_ms`` (median of the network
        alone), ``latency_ms`` and ``latency_p90_ms`` (median and p90 of
        ``forward+nms``: network, box decoding and NMS) in each record. The
        NMS share depends on how many boxes pass the score threshold, so it
        varies with training; ``forward_ms`` compares the architectures.
        A run that cannot be timed gets ``latency_error`` instead.
        """
        groups: Dict[Tuple[int, int], List[Dict]] = {}
        for r in records:
            for key, _, _ in LATENCY_KEYS:  # no figure of an earlier sweep
                r.pop(key, None)
            r.pop('latency_error', None)
            if r['status'] == 'ok':
                groups.setdefault(tuple(r['shape']), []).append(r)
        reports = []
        for shape, group in groups.items():
            names = ', '.join(r['name'] for r in group)
            print(f'[sweep] timing {names} at {shape[0]}x{shape[1]}, '
                  f'{self.latency_rounds} rounds')
            try:
                reports.append(self._benchmark(group, shape))
            except Exception:  # find the run(s) that cannot be timed
                for r in group:
                    try:
                        reports.append(self._benchmark([r], shape))
                    except Exception as err:
                        r['latency_error'] = \
                            f'{type(err).__name__}: {err}'.splitlines()[0]
                        print(f'[sweep] {r["name"]}: latency FAILED: '
                              f'{r["latency_error"]}')
        by_name = {r['name']: r for r in records}
        for report in reports:
            for row in report['results']:
                record = by_name[row['model']]
                for key, stage, stat in LATENCY_KEYS:
                    if row['stage'] == stage:
                        record[key] = row[stat]
        with open(osp.join(self.out_dir, 'latency.json'), 'w') as f:
            json.dump(reports, f, indent=2)

    def run_one(self, run: SweepRun) -> Dict:
        run_dir = osp.join(self.out_dir, run.name)
        result_file = osp.join(run_dir, 'result.json')
        if osp.isfile(result_file):
            with open(result_file) as f:
                record = json.load(f)
            if record.get('status') == 'ok':
                print(f'[sweep] {run.name}: done before, skipped')
                if 'shape' not in record:  # written before shapes were kept
                    record['shape'] = self._shape(
                        Config.fromfile(osp.join(run_dir, 'config.py')))
                return record
        os.makedirs(run_dir, exist_ok=True)
        record = dict(name=run.name, config=run.config, status='failed')
        try:
            cfg = run.build_config(self.cfg_options)
            if self.seed is not None and cfg.get('randomness', {}).get(
                    'seed') is None:
                cfg.merge_from_dict({'randomness.seed': self.seed})
            config_path = osp.join(run_dir, 'config.py')
            cfg.dump(config_path)
            metrics_file = osp.join(run_dir, 'metrics.json')
            log_file = osp.join(run_dir, 'worker.log')
            print(f'[sweep] {run.name}: training ({log_file})')
            start = time.perf_counter()
            with open(log_file, 'a') as log:
                proc = subprocess.run(
                    self._worker_cmd(config_path, run_dir, metrics_file),
                    stdout=log, stderr=subprocess.STDOUT)
            record['train_s'] = time.perf_counter() - start
            if proc.returncode != 0 or not osp.isfile(metrics_file):
                raise RuntimeError(
                    f'worker exited with {proc.returncode}: ' +
                    _error_line(_tail(log_file)))
            with open(metrics_file) as f:
                worker_out = json.load(f)
            for key, metric in COCO_BBOX_METRICS:
                record[key] = worker_out['metrics'].get(metric)
            record['checkpoint'] = worker_out['checkpoint']
            record['shape'] = self._shape(cfg)
            record['params_M'], record['flops_G'] = count_complexity(
                cfg, record['shape'])
            record['status'] = 'ok'
        except Exception as err:  # recorded; the sweep goes on
            record['error'] = f'{type(err).__name__}: {err}'.splitlines()[0]
            with open(osp.join(run_dir, 'error.txt'), 'w') as f:
                f.write(traceback.format_exc())
            print(f'[sweep] {run.name}: FAILED: {record["error"]}')
        with open(result_file, 'w') as f:
            json.dump(record, f, indent=2)
        return record

    def run(self) -> List[Dict]:
        os.makedirs(self.out_dir, exist_ok=True)
        records = []
        for run in self.runs:
            records.append(self.run_one(run))
            write_reports(records, self.out_dir)
        if self.latency:
            self.measure_latency(records)
            write_reports(records, self.out_dir)
        print(f'[sweep] {sum(r["status"] == "ok" for r in records)}/'
              f'{len(records)} runs ok; results in '
              f'{osp.join(self.out_dir, "results.md")}')
        return records
