"""Ablation sweeps: train and evaluate a set of configs, collect a table."""
from .runs import SweepRun, collect_runs, load_sweep_file
from .sweeper import Sweeper, count_complexity, write_reports

__all__ = [
    'SweepRun', 'collect_runs', 'load_sweep_file', 'Sweeper',
    'count_complexity', 'write_reports'
]
