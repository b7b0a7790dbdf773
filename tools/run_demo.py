"""The offline demo behind ``make demo`` (see mmyoloms.apis.demo).

    python tools/run_demo.py [--work-dir DIR] [--data-root data/shapes]
        [--minutes 18 | --epochs N] [--seed 0] [--config CONFIG]

Writes the shapes dataset if absent, trains YOLO-MS-XS on CPU for as many
epochs as fit ``--minutes`` (or exactly ``--epochs``), evaluates the best
checkpoint with COCO AP and leaves pictures, curves and results in the work
dir. Repeating the command with the same settings and work dir continues
an interrupted run, or prints the results of a finished one; a work dir
planned with other settings is refused with one message (exit status 2).
"""
import time

START_TIME = time.time()  # the time budget counts from here

import argparse  # noqa: E402
import os.path as osp  # noqa: E402
import sys  # noqa: E402

from mmyoloms.apis.demo import WorkDirError, run_demo  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'shapes',
                          'yoloms-xs_fast_1xb8-10e_shapes.py')


def parse_args():
    parser = argparse.ArgumentParser(description='Run the offline demo')
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/shapes')
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        '--minutes', type=float, default=18.,
        help='time budget of the whole demo (dataset, training, '
        'evaluation): it trains as many epochs as fit (default: 18)')
    budget.add_argument(
        '--epochs', type=int,
        help='train exactly this many epochs instead (reproducible)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, default=1000)
    parser.add_argument('--num-val', type=int, default=200)
    parser.add_argument(
        '--grid-images', type=int, default=12,
        help='val images in the prediction picture')
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        run_demo(
            args.config,
            work_dir=args.work_dir,
            data_root=args.data_root,
            minutes=args.minutes,
            epochs=args.epochs,
            seed=args.seed,
            num_train=args.num_train,
            num_val=args.num_val,
            grid_images=args.grid_images,
            start_time=START_TIME)
    except WorkDirError as e:  # a user's choice to make, not a crash
        print(f'run_demo.py: {e}', file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
