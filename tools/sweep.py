"""Run an ablation sweep over seeds; collect AP, params, FLOPs and latency.

Every run is trained once per seed (``<out>/<name>/seed<k>/``). The reports
(``results.md``, ``results.csv``, ``summary.csv``, ``comparison.csv``,
``results.png``) give per run the mean, std and 95 % t-interval over the
seeds, and the difference to the reference run with a Welch interval and
a verdict (better / worse / within noise).

Examples:
    # every ablation config, rescaled to 12 epochs, three seeds each
    python tools/sweep.py 'configs/yoloms/ablations/*.py' --out work_dirs/sweep \\
        --epochs 12 --seeds 0 1 2 \\
        --reference yoloms-xs-k3579_syncbn_fast_8xb8-300e_coco
    # a sweep file (base config + named overrides)
    python tools/sweep.py configs/sweeps/shapes_demo.py --out work_dirs/sweep_demo
    # each run on 8 GPUs through torch.distributed.run
    python tools/sweep.py configs/sweeps/my_sweep.py --launcher pytorch --gpus 8

Rerunning the same command skips finished (run, seed) pairs and resumes an
interrupted one from its latest checkpoint; adding seeds trains only the
new ones.

    # the reports of a sweep directory written anew from its results.csv
    # and summary.csv, nothing trained (e.g. after the report changed)
    python tools/sweep.py --report-only --out docs/sweep_demo
"""
import argparse

from mmengine.config import DictAction

from mmyoloms.sweep import Sweeper, collect_runs, rebuild_reports

# what --report-only takes besides --out
REPORT_OPTIONS = ('out', 'reference', 'title', 'report_only')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        'inputs', nargs='*',
        help='config files, globs, or sweep files (defining `runs`)')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--seeds', type=int, nargs='+', default=[0],
        help='train every run once per seed (randomness.seed); default 0')
    parser.add_argument(
        '--epochs', type=int,
        help='rescale every schedule to this many epochs (warm-up, cosine '
        'or step decay, validation/checkpoint intervals, pipeline switch)')
    parser.add_argument(
        '--reference',
        help='run the others are compared with (default: the first run)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='overrides for every run, "key=value" pairs, applied after '
        '--epochs')
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
    parser.add_argument('--title', help='title of results.md and the plot')
    parser.add_argument(
        '--report-only', action='store_true',
        help='train nothing: write the reports of --out anew from its '
        'results.csv and summary.csv (takes --reference and --title only)')
    args = parser.parse_args(argv)
    if args.report_only:
        given = [f'--{key.replace("_", "-")}' for key, value in
                 vars(args).items() if key not in REPORT_OPTIONS and
                 value != parser.get_default(key) and key != 'inputs']
        if args.inputs:
            given.insert(0, 'configs')
        if given:
            parser.error('--report-only trains nothing; it takes no '
                         + ', '.join(given))
    elif not args.inputs:
        parser.error('give the configs, globs or sweep files to sweep')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.report_only:
        return rebuild_reports(args.out, args.reference, args.title)
    runs = collect_runs(args.inputs)
    return Sweeper(
        runs,
        args.out,
        seeds=args.seeds,
        epochs=args.epochs,
        cfg_options=args.cfg_options,
        reference=args.reference,
        shape=args.shape,
        launcher=args.launcher,
        gpus=args.gpus,
        latency=not args.no_latency,
        latency_repeat=args.latency_repeat,
        latency_rounds=args.latency_rounds,
        threads=args.threads,
        title=args.title).run()


if __name__ == '__main__':
    main()
