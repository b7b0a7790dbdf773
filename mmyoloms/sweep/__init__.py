"""Ablation sweeps: train a set of configs over seeds, collect AP, params,
FLOPs and latency, and tell signal from seed noise."""
from .report import rebuild_reports, write_reports
from .runs import SweepRun, collect_runs, load_sweep_file
from .stats import summarize, verdict, welch_difference
from .sweeper import Sweeper

__all__ = [
    'SweepRun', 'collect_runs', 'load_sweep_file', 'Sweeper', 'summarize',
    'verdict', 'welch_difference', 'write_reports', 'rebuild_reports'
]
