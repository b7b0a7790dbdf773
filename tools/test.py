"""Evaluate a checkpoint with MMEngine's runner (COCO metrics by config).

The arguments, config and runner it shares with tools/train.py are
:mod:`mmyoloms.apis.runner`'s; importing it registers mmyoloms.
Checkpoints are loaded with ``torch.load(weights_only=True)`` plus an
allowlist of what mmengine/mmdet/mmyolo checkpoints hold;
``--trust-checkpoint`` lifts that for a file you trust.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmyoloms.apis.runner import (add_runner_args, build_runner,  # noqa: E402
                                  load_runner_config, parse_runner_args)


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
    add_runner_args(parser)
    return parse_runner_args(parser)


def main():
    args = parse_args()
    cfg = load_runner_config(args.config, args.launcher, args.cfg_options,
                             args.work_dir)

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

    build_runner(cfg).test()


if __name__ == '__main__':
    main()
