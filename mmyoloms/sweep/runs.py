"""Which runs a sweep has: config files, globs, or a sweep file."""
import glob
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from ..engine.schedule import rescale_schedule


@dataclass
class SweepRun:
    """One entry of a sweep.

    Attributes:
        name (str): Unique name; also the run's sub-directory.
        config (str): Config file the run starts from.
        overrides (dict): Nested overrides merged into that config with
            MMEngine's rules (``_delete_=True`` replaces a dict).
        common (dict): Overrides shared by the runs of a sweep file
            (its ``common_cfg``), merged before ``overrides``.
    """
    name: str
    config: str
    overrides: Dict = field(default_factory=dict)
    common: Dict = field(default_factory=dict)

    def build_config(self,
                     cfg_options: Optional[Dict] = None,
                     epochs: Optional[int] = None,
                     seed: Optional[int] = None) -> Config:
        """The run's config, built in this order: the file, the common
        overrides of its sweep file, the run's overrides, the schedule
        rescaled to ``epochs``
        (:func:`~mmyoloms.engine.rescale_schedule`), ``cfg_options``
        (dotted keys, applied to every run of a sweep, so they win over
        the rescaled values) and ``randomness.seed = seed``."""
        cfg = Config.fromfile(self.config)
        for overrides in (self.common, self.overrides):
            if overrides:
                cfg.merge_from_dict(overrides)
        if epochs is not None:
            try:
                cfg = rescale_schedule(cfg, epochs)
            except ValueError as err:
                raise ValueError(f'run {self.name} ({self.config}): {err}')
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        if seed is not None:
            cfg.merge_from_dict({'randomness.seed': seed})
        return cfg


def _plain_dict(overrides) -> Dict:
    return overrides.to_dict() if hasattr(overrides, 'to_dict') \
        else dict(overrides)


def _name_from_path(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def _check_name(name: str, source: str) -> str:
    if not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9_.+-]*', name):
        raise ValueError(
            f'run name {name!r} in {source} must be letters, digits and '
            '"_.+-" (it names a directory)')
    return name


def load_sweep_file(path: str) -> List[SweepRun]:
    """Read a sweep file: an MMEngine config with ``base`` and ``runs``.

    ``base`` is a config path (relative to the sweep file); ``runs`` is a
    list of dicts, each with a ``name``, optional ``config`` (another config
    file instead of ``base``, e.g. a peer detector) and optional ``cfg``
    (overrides, in MMEngine config syntax); the optional ``common_cfg``
    holds overrides for every run, merged before each run's ``cfg``::

        base = '../shapes/yoloms-xs_fast_1xb8-10e_shapes.py'
        common_cfg = dict(train_dataloader=dict(batch_size=16))
        runs = [
            dict(name='k3579'),
            dict(name='k3333', cfg=dict(model=dict(backbone=dict(...)))),
            dict(name='rtmdet-tiny', config='../shapes/rtmdet-tiny....py'),
        ]
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'sweep file {path} not found')
    sweep = Config.fromfile(path)
    here = osp.dirname(osp.abspath(path))
    if 'runs' not in sweep or not isinstance(sweep.runs, (list, tuple)):
        raise ValueError(f'sweep file {path} must define `runs`, a list of '
                         'dicts with a `name`')
    base = sweep.get('base')
    common = _plain_dict(sweep.get('common_cfg') or {})
    runs = []
    for i, entry in enumerate(sweep.runs):
        entry = dict(entry)
        unknown = set(entry) - {'name', 'config', 'cfg'}
        if 'name' not in entry or unknown:
            raise ValueError(
                f'runs[{i}] in {path} must have a `name` and only `config` '
                f'and `cfg` besides it; got keys {sorted(entry)}')
        config = entry.get('config', base)
        if config is None:
            raise ValueError(f'runs[{i}] ({entry["name"]}) in {path} has no '
                             '`config` and the file has no `base`')
        config = osp.normpath(osp.join(here, config))
        runs.append(
            SweepRun(_check_name(str(entry['name']), path), config,
                     _plain_dict(entry.get('cfg') or {}), common))
    return runs


def collect_runs(inputs: Sequence[str]) -> List[SweepRun]:
    """Expand config paths, globs and sweep files into a list of runs.

    A ``.py`` file that defines ``runs`` is a sweep file; any other ``.py``
    is a config, run as it is and named after its file.
    """
    runs: List[SweepRun] = []
    for item in inputs:
        paths = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not paths:
            raise FileNotFoundError(f'{item!r} matches no file')
        for path in paths:
            if not osp.isfile(path):
                raise FileNotFoundError(f'config or sweep file {path} not '
                                        'found')
            with open(path, encoding='utf-8') as f:
                is_sweep = re.search(r'^runs\s*=', f.read(), re.M)
            if is_sweep:
                runs += load_sweep_file(path)
            else:
                runs.append(
                    SweepRun(
                        _check_name(_name_from_path(path), path),
                        osp.abspath(path)))
    names = [r.name for r in runs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f'run names must be unique, repeated: {duplicates}')
    return runs
