"""The offline demo behind ``make demo``: data, training, COCO AP, pictures.

    python tools/run_demo.py [--work-dir DIR] [--data-root data/shapes]

1. writes the shapes dataset to ``--data-root`` unless a complete one made
   with the same arguments is there;
2. trains the config (YOLO-MS-XS on CPU by default) with MMEngine's runner,
   resuming from the work dir's last checkpoint if an earlier run was
   interrupted;
3. evaluates the best checkpoint (by val bbox mAP) on the val set with
   mmdet's CocoMetric and prints AP, AP50, AP75, APs, APm, APl;
4. leaves in the work dir: ``best_coco_bbox_mAP_epoch_*.pth``,
   ``val_predictions.png`` (detections on val images drawn by mmdet's
   visualizer), ``curves.png`` (training loss and val AP) and
   ``demo_results.json`` (the figures and the wall time).
"""
import argparse
import copy
import glob
import json
import os.path as osp
import time

import mmcv
from mmengine.config import Config
from mmengine.runner import Runner

from mmyoloms.datasets import generate_shapes_dataset
from mmyoloms.utils import COCO_BBOX_METRICS
from mmyoloms.visualization import plot_training_curves, save_prediction_grid

DEFAULT_CONFIG = 'configs/shapes/yoloms-xs_fast_1xb8-10e_shapes.py'


def parse_args():
    parser = argparse.ArgumentParser(description='Run the offline demo')
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/shapes')
    parser.add_argument('--num-train', type=int, default=1000)
    parser.add_argument('--num-val', type=int, default=200)
    parser.add_argument(
        '--grid-images', type=int, default=12,
        help='val images in the prediction grid')
    parser.add_argument(
        '--score-thr', type=float, default=0.3,
        help='draw predictions scoring at least this')
    return parser.parse_args()


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every dataloader and evaluator of ``cfg`` at ``data_root``."""
    data_root = data_root.rstrip('/') + '/'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = data_root
    for name in ('val_evaluator', 'test_evaluator'):
        cfg[name].ann_file = osp.join(data_root,
                                      cfg[f'{name[:-9]}dataloader'].dataset
                                      .ann_file)


def format_ap_table(metrics: dict) -> str:
    """A Markdown table of the six COCO bbox figures in ``metrics``."""
    head = '| ' + ' | '.join(name for name, _ in COCO_BBOX_METRICS) + ' |'
    rule = '|' + '|'.join('------' for _ in COCO_BBOX_METRICS) + '|'
    row = '| ' + ' | '.join(f'{metrics[key]:.3f}'
                            for _, key in COCO_BBOX_METRICS) + ' |'
    return '\n'.join([head, rule, row])


def find_best_checkpoint(work_dir: str) -> str:
    found = sorted(
        glob.glob(osp.join(work_dir, 'best_coco_bbox_mAP_epoch_*.pth')),
        key=osp.getmtime)
    if not found:
        raise FileNotFoundError(
            f'no best_coco_bbox_mAP_epoch_*.pth in {work_dir}: the training '
            'run never validated')
    return found[-1]


def draw_val_predictions(cfg: Config, checkpoint: str, out_file: str,
                         num_images: int, score_thr: float) -> None:
    """Run ``checkpoint`` on the first val images and save a grid."""
    from mmdet.apis import inference_detector, init_detector
    model = init_detector(copy.deepcopy(cfg), checkpoint, device='cpu')
    dataset = cfg.val_dataloader.dataset
    with open(osp.join(dataset.data_root, dataset.ann_file)) as f:
        images = json.load(f)['images'][:num_images]
    img_dir = osp.join(dataset.data_root, dataset.data_prefix.img)
    arrays, samples = [], []
    for info in images:
        image = mmcv.imread(osp.join(img_dir, info['file_name']))
        samples.append(inference_detector(model, image))
        arrays.append(mmcv.bgr2rgb(image))
    save_prediction_grid(arrays, samples, model.dataset_meta, out_file,
                         score_thr=score_thr)


def main():
    args = parse_args()
    start = time.perf_counter()
    generate_shapes_dataset(
        args.data_root,
        num_train=args.num_train,
        num_val=args.num_val,
        reuse_existing=True)
    data_seconds = time.perf_counter() - start
    print(f'[demo] dataset ready in {args.data_root} ({data_seconds:.1f} s)')

    cfg = Config.fromfile(args.config)
    set_data_root(cfg, args.data_root)
    cfg.work_dir = args.work_dir
    # continue an interrupted run; a fresh work dir trains from scratch
    cfg.resume = True
    cfg.load_from = None
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    train_seconds = time.perf_counter() - start - data_seconds
    del runner

    best = find_best_checkpoint(args.work_dir)
    test_cfg = copy.deepcopy(cfg)
    test_cfg.resume = False
    test_cfg.load_from = best
    metrics = Runner.from_cfg(test_cfg).test()

    grid_file = osp.join(args.work_dir, 'val_predictions.png')
    draw_val_predictions(cfg, best, grid_file, args.grid_images,
                         args.score_thr)
    curves_file = osp.join(args.work_dir, 'curves.png')
    # every start of the training run (it may have been resumed)
    plot_training_curves(
        sorted(glob.glob(osp.join(args.work_dir, '*', 'vis_data',
                                  'scalars.json'))), curves_file)

    wall = time.perf_counter() - start
    results = dict(
        config=args.config,
        checkpoint=best,
        metrics={name: metrics[key]
                 for name, key in COCO_BBOX_METRICS},
        dataset_seconds=round(data_seconds, 1),
        train_seconds=round(train_seconds, 1),
        wall_seconds=round(wall, 1))
    with open(osp.join(args.work_dir, 'demo_results.json'), 'w') as f:
        json.dump(results, f, indent=1)

    print('\n[demo] COCO bbox metrics of the best checkpoint on the '
          f'{args.num_val} val images:\n')
    print(format_ap_table(metrics))
    print(f'\n[demo] best checkpoint: {best}')
    print(f'[demo] predictions:     {grid_file}')
    print(f'[demo] curves:          {curves_file}')
    print(f'[demo] wall time:       {wall / 60:.1f} min (dataset '
          f'{data_seconds:.0f} s, training {train_seconds / 60:.1f} min)')


if __name__ == '__main__':
    main()
