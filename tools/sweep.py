"""Run an ablation sweep and collect AP, params, FLOPs and latency.

Examples:
    # every ablation config, 12 epochs each
    python tools/sweep.py 'configs/yoloms/ablations/*.py' --out work_dirs/sweep \\
        --cfg-options train_cfg.max_epochs=12
    # a sweep file (base config + named overrides)
    python tools/sweep.py configs/sweeps/shapes_demo.py --out work_dirs/sweep_demo
    # each run on 8 GPUs through torch.distributed.run
    python tools/sweep.py configs/sweeps/my_sweep.py --launcher pytorch --gpus 8

Rerunning the same command skips finished runs and resumes an interrupted
one from its latest checkpoint.
"""
import argparse

from mmengine.config import DictAction

from mmyoloms.sweep import Sweeper, collect_runs


def _seed(text):
    return None if text.lower() == 'none' else int(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        'inputs', nargs='+',
        help='config files, globs, or sweep files (defining `runs`)')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='overrides for every run, "key=value" pairs')
    parser.add_argument(
        '--seed', type=_seed, default=0,
        help='randomness.seed of every run whose config sets none '
        '(default 0); "none" lets mmengine draw one')
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'),
        help='input size for FLOPs and latency (default: the config\'s '
        'img_scale)')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none')
    parser.add_argument('--gpus', type=int, default=1,
                        help='processes per run with --launcher pytorch')
    parser.add_argument('--no-latency', action='store_true',
                        help='skip the latency measurement')
    parser.add_argument('--latency-repeat', type=int, default=20,
                        help='timed calls per model, stage and round')
    parser.add_argument('--latency-rounds', type=int, default=5,
                        help='interleaved timing rounds over all runs')
    parser.add_argument('--threads', type=int, default=2,
                        help='CPU threads for the latency measurement')
    return parser.parse_args()


def main():
    args = parse_args()
    runs = collect_runs(args.inputs)
    Sweeper(
        runs,
        args.out,
        cfg_options=args.cfg_options,
        seed=args.seed,
        shape=args.shape,
        launcher=args.launcher,
        gpus=args.gpus,
        latency=not args.no_latency,
        latency_repeat=args.latency_repeat,
        latency_rounds=args.latency_rounds,
        threads=args.threads).run()


if __name__ == '__main__':
    main()
