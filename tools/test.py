"""Evaluate a checkpoint with MMEngine's runner (COCO metrics by config).

The config's ``custom_imports`` registers mmyoloms. Checkpoints are loaded
with ``torch.load(weights_only=True)`` plus an allowlist of what
mmengine/mmdet/mmyolo checkpoints hold; ``--trust-checkpoint`` lifts that for
a file you trust.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmyolo.registry import RUNNERS
from mmyolo.utils import is_metainfo_lower


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out', help='dump raw predictions to this pickle file')
    parser.add_argument(
        '--show-dir', help='draw predictions into this dir (under work dir)')
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='the checkpoint is trusted: allow arbitrary pickled objects in '
        'it (only for files from a source you trust)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, "key=value" pairs')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.trust_checkpoint:
        # read by mmyoloms.compat's checkpoint loader
        trusted = os.environ.get('MMYOLOMS_TRUSTED_CHECKPOINTS')
        os.environ['MMYOLOMS_TRUSTED_CHECKPOINTS'] = os.pathsep.join(
            filter(None, [trusted, osp.abspath(args.checkpoint)]))
    cfg.load_from = args.checkpoint

    if args.show_dir is not None:
        cfg.default_hooks.visualization.draw = True
        cfg.default_hooks.visualization.test_out_dir = args.show_dir

    if args.out is not None:
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(
            dict(type='mmdet.DumpDetResults', out_file_path=args.out))

    is_metainfo_lower(cfg)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.test()


if __name__ == '__main__':
    main()
