"""Train a detector with MMEngine's runner.

Thin on purpose: the arguments, config and runner it shares with
tools/test.py are :mod:`mmyoloms.apis.runner`'s. Importing it registers
mmyoloms and applies its compatibility fixes, as the configs'
``custom_imports`` do under ``mim train mmyolo``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmyoloms.apis.runner import (add_runner_args, build_runner,  # noqa: E402
                                  enable_amp, load_runner_config,
                                  parse_runner_args)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp', action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest '
        'checkpoint in the work dir when no path is given')
    add_runner_args(parser)
    return parse_runner_args(parser)


def main():
    args = parse_args()
    cfg = load_runner_config(args.config, args.launcher, args.cfg_options,
                             args.work_dir)

    if args.amp:
        cfg = enable_amp(cfg)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    build_runner(cfg).train()


if __name__ == '__main__':
    main()
