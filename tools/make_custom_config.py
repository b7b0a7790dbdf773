"""Write a training config for a COCO-format dataset from a model config.

    python tools/make_custom_config.py \\
        configs/yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py \\
        --data-root data/my_set --out configs/my_set/yoloms-xs_my_set.py \\
        [--load-from CKPT] [--epochs N] [--batch-size B] [--img-size S]

The data are checked first (annotation files, categories, images on disk,
boxes); the written config inherits the model config and overrides only
what changed (mmyoloms.apis.custom_data has the rules). Train it with
``python tools/train.py OUT``.
"""
import argparse
import os
import os.path as osp
import shlex
import sys

from mmyoloms.apis.custom_data import make_custom_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        'config', help='model config (a path, or mmyolo::path/to/config.py)')
    parser.add_argument('--data-root', required=True,
                        help='directory of the COCO-format dataset')
    parser.add_argument('--out', required=True,
                        help='the config file to write')
    parser.add_argument(
        '--train-ann', default='annotations/instances_train.json',
        help='train annotations, relative to --data-root '
        '(default: %(default)s)')
    parser.add_argument('--train-img', default='train/',
                        help='train images, relative to --data-root '
                        '(default: %(default)s)')
    parser.add_argument('--val-ann', default='annotations/instances_val.json',
                        help='val annotations (default: %(default)s)')
    parser.add_argument('--val-img', default='val/',
                        help='val images (default: %(default)s)')
    parser.add_argument('--test-ann', help='test annotations (default: val)')
    parser.add_argument('--test-img',
                        help='test images (default: --val-img)')
    parser.add_argument(
        '--load-from', help='checkpoint to fine-tune from; layers whose '
        'shapes differ (the class outputs) keep their initialisation')
    parser.add_argument(
        '--epochs', type=int,
        help='training epochs (default: the recipe\'s; 40 with '
        '--load-from); the whole schedule is rescaled')
    parser.add_argument('--batch-size', type=int,
                        help='train batch size per GPU')
    parser.add_argument('--img-size', type=int,
                        help='square input size, a multiple of 32')
    parser.add_argument('--force', action='store_true',
                        help='overwrite --out if it exists')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if osp.exists(args.out) and not args.force:
        sys.exit(f'error: {args.out} exists; pass --force to overwrite it')
    command = 'python tools/make_custom_config.py ' + ' '.join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    try:
        made = make_custom_config(
            args.config, args.data_root, args.out,
            train_ann=args.train_ann, train_img=args.train_img,
            val_ann=args.val_ann, val_img=args.val_img,
            test_ann=args.test_ann, test_img=args.test_img,
            load_from=args.load_from, epochs=args.epochs,
            batch_size=args.batch_size, img_size=args.img_size,
            command=command)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'error: {err}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write(made.text)
    for note in made.notes:
        print(f'- {note}')
    print(f'wrote {args.out}; train it with: python tools/train.py '
          f'{args.out}')


if __name__ == '__main__':
    main()
