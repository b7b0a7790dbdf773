"""Train a set of configs over several seeds; collect AP, cost and spread.

A sweep is a list of :class:`~mmyoloms.sweep.runs.SweepRun` s and a list of
seeds. Every run is trained once per seed, seed by seed (seed 0 of every
run, then seed 1, ...), so that an interrupted sweep still holds comparable
runs. For each (run, seed):

1. its config (file, run overrides, schedule rescaled to ``epochs``,
   ``cfg_options``, ``randomness.seed``) is dumped to
   ``<out>/<name>/seed<k>/config.py``, which the worker trains (and the
   Runner rewrites with the keys the worker sets), and to
   ``sweep_config.py`` beside it, the sweep's own record of what it
   launched;
2. :mod:`mmyoloms.sweep.worker` trains it and evaluates it (mmdet's
   ``CocoMetric`` through the config), in a subprocess or under
   ``torch.distributed.run`` (``launcher='pytorch'``);
3. the record goes to ``<out>/<name>/seed<k>/result.json``, and the reports
   are rewritten.

Per run, params and FLOPs are counted once
(:func:`mmyoloms.analysis.get_complexity`, cached in
``<out>/<name>/complexity.json`` with the shape and a digest of the model
config they were counted for: a changed model is counted anew). At the end one trained checkpoint per run
is timed by the benchmark harness of :mod:`mmyoloms.profiling`, all runs side
by side in interleaved rounds, so that a slow moment of the machine hits
every run alike (``<out>/latency.json``); each invocation times anew.
The reports (:mod:`mmyoloms.sweep.report`) give per run the mean, std and
95 % t-interval over the seeds, and the difference to the reference run
with a Welch interval and a verdict (:mod:`mmyoloms.sweep.stats`).

A (run, seed) with a ``result.json`` of status ``ok`` is not redone; an
interrupted one resumes from its latest checkpoint; a failing one is
recorded with its error and the sweep goes on. A directory trained with a
different config (say another ``--epochs``), by its ``sweep_config.py``,
is an error, not silently reused.
"""
import copy
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
import time
import traceback
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from ..utils import COCO_BBOX_METRICS, positive_int
from .report import shown_path, write_reports
from .runs import SweepRun
from .worker import WORKER_KEYS

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


def _first_line(err: BaseException) -> str:
    return (f'{type(err).__name__}: {err}'.splitlines() or [''])[0]


# The sweep's record of the config it launched in a seed directory. Only
# the sweep writes it: the worker trains ``config.py``, which mmengine's
# Runner rewrites with the keys the worker sets (work dir, launcher,
# resume).
RECORD = 'sweep_config.py'


def _launched_config(seed_dir: str) -> Optional[dict]:
    """The config a seed directory was launched with, as a dict; None for
    a directory that never started.

    A directory of a sweep from before :data:`RECORD` has only the
    Runner's ``config.py``; it is read without the keys the worker sets.
    """
    record = osp.join(seed_dir, RECORD)
    if osp.isfile(record):
        return Config.fromfile(record).to_dict()
    dumped = osp.join(seed_dir, 'config.py')
    if not osp.isfile(dumped):
        return None
    cfg = Config.fromfile(dumped).to_dict()
    for key in WORKER_KEYS:
        cfg.pop(key, None)
    return cfg


def _model_digest(cfg: Config) -> str:
    """SHA-256 of a config's ``model`` section: what params/FLOPs count."""
    text = json.dumps(cfg.to_dict().get('model'), sort_keys=True,
                      default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


class Sweeper:
    """Runs every :class:`SweepRun` once per seed and collects the results.

    Args:
        runs (Sequence[SweepRun]): The runs.
        out_dir (str): Where run directories and reports go.
        seeds (Sequence[int]): ``randomness.seed`` of each training of a
            run; it replaces any seed a run's config sets. Defaults to (0, ).
        epochs (int, optional): Rescale every run's schedule to this many
            epochs (:func:`~mmyoloms.engine.rescale_schedule`); None keeps
            the configs' schedules. Defaults to None.
        cfg_options (dict, optional): Dotted-key overrides for every run,
            applied after the rescaling. Defaults to None.
        reference (str, optional): Name of the run the others are compared
            with. Defaults to None (the first run).
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
        title (str, optional): Title of the reports. Defaults to None.
        python (str): Interpreter for the worker. Defaults to this one.
    """

    def __init__(self,
                 runs: Sequence[SweepRun],
                 out_dir: str,
                 seeds: Sequence[int] = (0, ),
                 epochs: Optional[int] = None,
                 cfg_options: Optional[Dict] = None,
                 reference: Optional[str] = None,
                 shape: Optional[Tuple[int, int]] = None,
                 launcher: str = 'none',
                 gpus: int = 1,
                 latency: bool = True,
                 latency_repeat: int = 20,
                 latency_rounds: int = 5,
                 threads: int = 2,
                 title: Optional[str] = None,
                 python: str = sys.executable) -> None:
        if launcher not in ('none', 'pytorch'):
            raise ValueError(
                f"launcher must be 'none' or 'pytorch', got {launcher!r}")
        # checked here, not after hours of training
        for key, value in dict(gpus=gpus, latency_repeat=latency_repeat,
                               latency_rounds=latency_rounds,
                               threads=threads).items():
            positive_int(value, key)
        if epochs is not None:
            positive_int(epochs, 'epochs')
        seeds = list(seeds)
        if not seeds or any(
                isinstance(s, bool) or not isinstance(s, int) or s < 0
                for s in seeds):
            raise ValueError(
                f'seeds must be a non-empty list of ints >= 0, got {seeds!r}')
        if len(set(seeds)) != len(seeds):
            raise ValueError(f'seeds must not repeat, got {seeds}')
        self.runs = list(runs)
        if not self.runs:
            raise ValueError('a sweep needs at least one run')
        names = [r.name for r in self.runs]
        if reference is None:
            reference = names[0]
        if reference not in names:
            raise ValueError(
                f'reference {reference!r} is not a run of this sweep; runs: '
                f'{names}')
        self.out_dir = out_dir
        self.seeds = seeds
        self.epochs = epochs
        self.cfg_options = dict(cfg_options or {})
        self.reference = reference
        self.shape = shape
        self.launcher = launcher
        self.gpus = gpus
        self.latency = latency
        self.latency_repeat = latency_repeat
        self.latency_rounds = latency_rounds
        self.threads = threads
        self.title = title
        self.python = python

    # ------------------------------------------------------------- configs
    def seed_dir(self, name: str, seed: int) -> str:
        return osp.join(self.out_dir, name, f'seed{seed}')

    def build_config(self, run: SweepRun, seed: int) -> Config:
        return run.build_config(self.cfg_options, self.epochs, seed)

    def check(self) -> None:
        """Build every (run, seed) config before anything trains.

        Raises:
            ValueError: A config cannot be built (e.g. its schedule cannot
                be rescaled), or a directory of this sweep was trained
                with another config than the one this sweep would use.
        """
        problems = []
        for run in self.runs:
            try:
                own = run.build_config(self.cfg_options, self.epochs)
                own_seed = own.get('randomness', {}).get('seed')
                if own_seed is not None:
                    print(f'[sweep] {run.name}: its config sets '
                          f'randomness.seed={own_seed}; the sweep sets '
                          f'seeds {self.seeds} instead')
                for seed in self.seeds:
                    seed_dir = self.seed_dir(run.name, seed)
                    launched = _launched_config(seed_dir)
                    if launched is None:
                        continue
                    cfg = copy.deepcopy(own)
                    cfg.merge_from_dict({'randomness.seed': seed})
                    if launched != cfg.to_dict():
                        problems.append(
                            f'{run.name} seed {seed}: {seed_dir} was '
                            'trained with another config than this sweep '
                            'gives the run (changed options or config?); '
                            'use another --out or remove that directory')
            except Exception as err:
                problems.append(f'{run.name}: {_first_line(err)}')
        if problems:
            raise ValueError('cannot start the sweep:\n  ' +
                             '\n  '.join(problems))

    # ------------------------------------------------------------ training
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

    def run_one(self, run: SweepRun, seed: int) -> Dict:
        """Train and evaluate one (run, seed), or read its earlier result."""
        run_dir = self.seed_dir(run.name, seed)
        result_file = osp.join(run_dir, 'result.json')
        label = f'{run.name} seed {seed}'
        if osp.isfile(result_file):
            with open(result_file) as f:
                record = json.load(f)
            if record.get('status') == 'ok':
                print(f'[sweep] {label}: done before, skipped')
                return record
        os.makedirs(run_dir, exist_ok=True)
        record = dict(name=run.name, seed=seed, config=run.config,
                      status='failed')
        try:
            cfg = self.build_config(run, seed)
            config_path = osp.join(run_dir, 'config.py')
            cfg.dump(config_path)
            cfg.dump(osp.join(run_dir, RECORD))
            record['shape'] = list(self._shape(cfg))
            metrics_file = osp.join(run_dir, 'metrics.json')
            log_file = osp.join(run_dir, 'worker.log')
            print(f'[sweep] {label}: training ({log_file})')
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
                value = worker_out['metrics'].get(metric)
                # pycocotools' -1: no ground truth of that size, no figure
                record[key] = None if value is None or value < 0 else value
            record['checkpoint'] = worker_out['checkpoint']
            record['status'] = 'ok'
            print(f'[sweep] {label}: AP {record["AP"]}')
        except Exception as err:  # recorded; the sweep goes on
            record['error'] = _first_line(err)
            with open(osp.join(run_dir, 'error.txt'), 'w') as f:
                f.write(traceback.format_exc())
            print(f'[sweep] {label}: FAILED: {record["error"]}')
        with open(result_file, 'w') as f:
            json.dump(record, f, indent=2)
        return record

    # ---------------------------------------------------- per-run figures
    def complexity(self, run: SweepRun, records: Sequence[Dict]) -> Dict:
        """Params (M) and FLOPs (G) of a run's model at its timing shape,
        from the config of its first finished seed; cached in
        ``<out>/<name>/complexity.json`` with the shape and the SHA-256 of
        the model config they were counted for, and counted anew when
        either differs."""
        from ..analysis import get_complexity
        ok = [r for r in records if r['name'] == run.name and
              r['status'] == 'ok']
        if not ok:
            return {}
        shape = list(ok[0]['shape'])
        config = osp.join(self.seed_dir(run.name, ok[0]['seed']),
                          'config.py')
        cache = osp.join(self.out_dir, run.name, 'complexity.json')
        try:
            cfg = Config.fromfile(config)
            digest = _model_digest(cfg)
            if osp.isfile(cache):
                with open(cache) as f:
                    cached = json.load(f)
                if cached.get('shape') == shape and \
                        cached.get('model_sha256') == digest:
                    return cached
            info = get_complexity(cfg, tuple(shape))
        except Exception as err:  # the trained results still count
            print(f'[sweep] {run.name}: params/FLOPs FAILED: '
                  f'{_first_line(err)}')
            return dict(complexity_error=_first_line(err))
        figures = dict(shape=shape, model_sha256=digest,
                       params_M=info['params'] / 1e6,
                       flops_G=info['flops'] / 1e9)
        with open(cache, 'w') as f:
            json.dump(figures, f, indent=2)
        return figures

    def _benchmark(self, entries: List[Dict], shape: Tuple[int, int]) -> dict:
        from mmyoloms.profiling import run_benchmark
        return run_benchmark(
            entries,
            backends=['pytorch'],
            shape=shape,
            threads=self.threads,
            repeat=self.latency_repeat,
            rounds=self.latency_rounds,
            work_dir=osp.join(self.out_dir, 'benchmark'),
            log=lambda msg: None)

    def measure_latency(self, records: Sequence[Dict],
                        runs: Dict[str, Dict]) -> None:
        """Time one trained checkpoint per run (its first finished seed),
        all runs side by side.

        Eager PyTorch, batch 1, at each run's FLOPs shape, by the benchmark
        harness of :mod:`mmyoloms.profiling`, in ``latency_rounds``
        interleaved rounds. Sets ``forward_ms`` (median of the network
        alone), ``latency_ms`` and ``latency_p90_ms`` (median and p90 of
        ``forward+nms``: network, box decoding and NMS) in ``runs[name]``.
        The network's latency does not depend on the seed; the NMS share
        depends on how many boxes pass the score threshold, so it varies
        with training: ``forward_ms`` compares the architectures. A run
        that cannot be timed gets ``latency_error`` instead.
        """
        groups: Dict[Tuple[int, int], List[Dict]] = {}
        for name, info in runs.items():
            for key, _, _ in LATENCY_KEYS:  # no figure of an earlier call
                info.pop(key, None)
            info.pop('latency_error', None)
            ok = [r for r in records if r['name'] == name and
                  r['status'] == 'ok']
            if ok:
                groups.setdefault(tuple(ok[0]['shape']), []).append(
                    dict(name=name,
                         config=osp.join(
                             self.seed_dir(name, ok[0]['seed']),
                             'config.py'),
                         # latency.json names it, not the machine
                         checkpoint=shown_path(ok[0]['checkpoint'])))
        reports = []
        for shape, entries in groups.items():
            names = ', '.join(e['name'] for e in entries)
            print(f'[sweep] timing {names} at {shape[0]}x{shape[1]}, '
                  f'{self.latency_rounds} rounds')
            try:
                reports.append(self._benchmark(entries, shape))
            except Exception:  # find the run(s) that cannot be timed
                for entry in entries:
                    try:
                        reports.append(self._benchmark([entry], shape))
                    except Exception as err:
                        runs[entry['name']]['latency_error'] = \
                            _first_line(err)
                        print(f'[sweep] {entry["name"]}: latency FAILED: '
                              f'{_first_line(err)}')
        for report in reports:
            for row in report['results']:
                info = runs[row['model']]
                for key, stage, stat in LATENCY_KEYS:
                    if row['stage'] == stage:
                        info[key] = row[stat]
        with open(osp.join(self.out_dir, 'latency.json'), 'w') as f:
            json.dump(reports, f, indent=2)

    # ---------------------------------------------------------------- all
    def report(self, records: Sequence[Dict], runs: Dict[str, Dict]) -> None:
        write_reports(records, runs, self.out_dir, self.reference,
                      self.seeds, [r.name for r in self.runs], self.title)

    def run(self) -> List[Dict]:
        """Train every (run, seed), count, time, write the reports.

        Returns:
            list[dict]: The per-(run, seed) records.
        """
        self.check()
        os.makedirs(self.out_dir, exist_ok=True)
        start = time.perf_counter()
        records: List[Dict] = []
        runs: Dict[str, Dict] = {r.name: {} for r in self.runs}
        for seed in self.seeds:
            for run in self.runs:
                records.append(self.run_one(run, seed))
                self.report(records, runs)
        for run in self.runs:
            runs[run.name].update(self.complexity(run, records))
        if self.latency:
            self.measure_latency(records, runs)
        self.report(records, runs)
        ok = sum(r['status'] == 'ok' for r in records)
        print(f'[sweep] {ok}/{len(records)} trainings ok '
              f'({time.perf_counter() - start:.0f} s); results in '
              f'{osp.join(self.out_dir, "results.md")}')
        return records
