"""Where the time of a training step goes, and side-by-side speed of
configs (see mmyoloms.profiling.training).

    # one config: the phases of an iteration and the top operators
    python tools/profile_train.py CONFIG [--iters 50] [--warmup 10]
        [--op-iters 5] [--cfg-options key=value ...] [--out result.json]

    # several configs, or a sweep file: images/s side by side
    python tools/profile_train.py CONFIG_OR_SWEEP [...] --rounds 3

One config is trained for warmup + iters + op_iters iterations with its
own runner; the phases (data, forward, assigner, loss, backward,
optimizer, hooks) and the top operators of forward and backward
(torch.profiler) are printed as Markdown tables. Several configs (config
files, or the runs of a sweep file as for tools/sweep.py) are each
trained warmup + iters iterations in a fresh process, in interleaved
rounds, and compared by images/s.
"""
import argparse
import json

from mmengine.config import DictAction

from mmyoloms.profiling import (compare_training_speed,
                                format_training_comparison,
                                format_training_profile, profile_training)
from mmyoloms.sweep import collect_runs


def parse_args():
    parser = argparse.ArgumentParser(
        description='Profile the training step of a config, or compare '
        'the training speed of several')
    parser.add_argument('configs', nargs='+',
                        help='config files, globs or sweep files')
    parser.add_argument('--iters', type=int, default=50,
                        help='timed iterations after the warm-up')
    parser.add_argument('--warmup', type=int, default=10,
                        help='iterations run first and not counted')
    parser.add_argument('--op-iters', type=int, default=5,
                        help='iterations run under torch.profiler (one '
                        'config only)')
    parser.add_argument('--rounds', type=int, default=3,
                        help='rounds of a comparison of several configs')
    parser.add_argument('--top', type=int, default=12,
                        help='operators listed per group')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every config, '
                        '"key=value" pairs')
    parser.add_argument('--out', help='also write the result as JSON')
    return parser.parse_args()


def main():
    args = parse_args()
    runs = collect_runs(args.configs)
    configs = {run.name: run.build_config(args.cfg_options) for run in runs}
    if len(configs) == 1:
        result = profile_training(
            next(iter(configs.values())), iters=args.iters,
            warmup=args.warmup, op_iters=args.op_iters)
        print(format_training_profile(result, top=args.top))
    else:
        result = compare_training_speed(
            configs, rounds=args.rounds, iters=args.iters,
            warmup=args.warmup)
        print(format_training_comparison(result))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(configs=args.configs, result=result), f, indent=1)


if __name__ == '__main__':
    main()
