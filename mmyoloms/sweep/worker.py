"""One sweep run: train with the config's schedule, then evaluate.

Started by :mod:`mmyoloms.sweep.sweeper` as a subprocess (or through
``torch.distributed.run`` with ``--launcher pytorch``), so that a failing
config cannot take the sweep down. Resumes from the latest checkpoint in the
work dir, so an interrupted run continues where it stopped.
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config
from mmengine.dist import get_rank
from mmengine.runner import Runner, find_latest_checkpoint

# the keys the worker sets in the config it trains (the Runner dumps them
# into the work dir's config.py)
WORKER_KEYS = ('work_dir', 'launcher', 'resume', 'load_from')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--out', required=True,
                        help='JSON file receiving the test metrics')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', '0')
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    cfg.launcher = args.launcher
    if find_latest_checkpoint(args.work_dir):
        cfg.resume = True
        cfg.load_from = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    if get_rank() == 0:
        result = dict(
            metrics={k: float(v) for k, v in metrics.items()},
            checkpoint=find_latest_checkpoint(args.work_dir))
        tmp = args.out + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(result, f, indent=2)
        os.replace(tmp, args.out)
        print(f'sweep worker: metrics written to {osp.abspath(args.out)}')


if __name__ == '__main__':
    main()
