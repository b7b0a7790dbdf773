"""What ``tools/train.py`` and ``tools/test.py`` share: the runner
arguments, the config they resolve and the runner they build from it.

The tools add their own arguments (``--amp``, ``--resume``; the checkpoint,
``--out``, ``--show-dir``) and the few config changes those make; the rest
is mmdet's and mmyolo's tools' behaviour, in one place.

Example:
    >>> parser = argparse.ArgumentParser()
    >>> parser.add_argument('config')
    >>> add_runner_args(parser)
    >>> args = parse_runner_args(parser, ['cfg.py', '--launcher', 'pytorch'])
    >>> cfg = load_runner_config(args.config, args.launcher,
    ...                          args.cfg_options)  # doctest: +SKIP
    >>> build_runner(cfg).train()  # doctest: +SKIP
"""
import argparse
import copy
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmyolo.registry import RUNNERS
from mmyolo.utils import is_metainfo_lower

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--cfg-options``, ``--launcher`` and ``--local_rank``.

    Args:
        parser (argparse.ArgumentParser): The tool's parser; the three
            arguments go after the ones it already has.
    """
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, "key=value" pairs')
    parser.add_argument(
        '--launcher', choices=list(LAUNCHERS), default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(
        parser: argparse.ArgumentParser,
        argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse ``argv`` and export ``--local_rank`` as ``LOCAL_RANK``.

    ``torch.distributed.run`` sets ``LOCAL_RANK`` itself; only a launch
    that passes ``--local_rank`` alone (``torch.distributed.launch``, or
    none) has it set from the argument.

    Args:
        parser (argparse.ArgumentParser): A parser that went through
            :func:`add_runner_args`.
        argv (Sequence[str], optional): The arguments. Defaults to None
            (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_runner_config(config: str,
                       launcher: str = 'none',
                       cfg_options: Optional[dict] = None,
                       work_dir: Optional[str] = None) -> Config:
    """The config a tool runs: the file, the launcher, the overrides.

    Args:
        config (str): Config file path.
        launcher (str): One of :data:`LAUNCHERS`. Defaults to ``'none'``.
        cfg_options (dict, optional): Overrides (dotted keys), merged into
            the config. Defaults to None.
        work_dir (str, optional): The work dir; it wins over the config's.
            Defaults to None: the config's ``work_dir``, else
            ``./work_dirs/<config file name without .py>``.

    Returns:
        Config: The config, ready for the tool's own changes.
    """
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


def enable_amp(cfg: Config) -> Config:
    """``cfg`` with mmengine's ``AmpOptimWrapper`` (float16 autocast,
    dynamic loss scaling unless the config sets ``loss_scale``): what
    ``tools/train.py --amp`` trains with. GPU only (mmengine refuses it on
    a CPU-only machine). The caller's config is not changed.

    Args:
        cfg (Config): A training config with an ``optim_wrapper``.

    Returns:
        Config: A copy with ``optim_wrapper.type='AmpOptimWrapper'``.
    """
    if cfg.get('optim_wrapper') is None:
        raise ValueError('enable_amp: the config has no optim_wrapper')
    cfg = copy.deepcopy(cfg)
    wrapper = cfg.optim_wrapper
    # only mmyoloms.engine's CPUAutocastOptimWrapper takes it;
    # AmpOptimWrapper would refuse it
    wrapper.pop('native_only', None)
    wrapper.type = 'AmpOptimWrapper'
    wrapper.setdefault('loss_scale', 'dynamic')
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Build the runner of ``cfg``: its ``runner_type`` from mmyolo's
    registry, else MMEngine's :class:`~mmengine.runner.Runner`.

    Args:
        cfg (Config): The config (see :func:`load_runner_config`).

    Returns:
        Runner: The runner; the caller runs ``train()`` or ``test()``.

    Raises:
        AssertionError: A dataset's ``metainfo`` has a key that is not
            lower case (mmyolo's ``is_metainfo_lower``).
    """
    is_metainfo_lower(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
