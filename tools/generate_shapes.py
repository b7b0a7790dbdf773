"""Write the offline multi-scale shapes dataset (COCO format).

    python tools/generate_shapes.py data/shapes
    python tools/generate_shapes.py data/shapes --num-train 1000 --num-val 200
    # a second task: three other classes on tiled backgrounds
    python tools/generate_shapes.py data/transfer_shapes \
        --classes hexagon arrow crescent --background tiles \
        --num-train 300 --num-val 100

The output is deterministic in its arguments and is checked by loading it
with pycocotools. With ``--reuse``, a complete dataset written with the same
arguments (and generator version) is kept as it is.
"""
import argparse
import time

from mmyoloms.datasets import (BACKGROUNDS, SHAPE_NAMES, SHAPES_CLASSES,
                               generate_shapes_dataset)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Generate the shapes detection dataset')
    parser.add_argument(
        'out_dir', nargs='?', default='data/shapes', help='output directory')
    parser.add_argument('--num-train', type=int, default=1000)
    parser.add_argument('--num-val', type=int, default=200)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--img-size', type=int, nargs=2, default=(192, 320),
        metavar=('MIN', 'MAX'), help='range of image widths and heights')
    parser.add_argument(
        '--max-objects', type=int, default=10,
        help='shapes per image, at most')
    parser.add_argument(
        '--classes', nargs='+', default=list(SHAPES_CLASSES),
        choices=SHAPE_NAMES, metavar='NAME',
        help=f'classes in category-id order, from {", ".join(SHAPE_NAMES)} '
        '(default: the demo\'s five)')
    parser.add_argument(
        '--background', choices=BACKGROUNDS, default='textured',
        help='background style (default: textured)')
    parser.add_argument(
        '--reuse', action='store_true',
        help='keep a complete dataset made with the same arguments')
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.perf_counter()
    files = generate_shapes_dataset(
        args.out_dir,
        num_train=args.num_train,
        num_val=args.num_val,
        seed=args.seed,
        img_size_range=tuple(args.img_size),
        max_objects=args.max_objects,
        classes=args.classes,
        background=args.background,
        reuse_existing=args.reuse)
    print(f'shapes dataset ready: {files["train"]}, {files["val"]} '
          f'({time.perf_counter() - start:.1f} s)')


if __name__ == '__main__':
    main()
