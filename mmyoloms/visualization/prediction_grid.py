"""Tile detections drawn by mmdet's ``DetLocalVisualizer`` into one image."""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData


def select_detections(data_sample: DetDataSample,
                      score_thr: float) -> InstanceData:
    """Predictions scoring at least ``score_thr`` with a box of positive size.

    RTMDet-style heads regress unconstrained distances, so a model early in
    training can emit inverted boxes (``x2 < x1``); they are not
    detections (nor drawable) and are left out.

    Args:
        data_sample (DetDataSample): Holds ``pred_instances``.
        score_thr (float): Minimum score.

    Returns:
        InstanceData: The kept predictions.
    """
    pred = data_sample.pred_instances
    boxes = pred.bboxes
    keep = ((pred.scores >= score_thr) & (boxes[:, 2] > boxes[:, 0]) &
            (boxes[:, 3] > boxes[:, 1]))
    return pred[keep]


def draw_detections(image: np.ndarray,
                    data_sample: DetDataSample,
                    dataset_meta: dict,
                    score_thr: float = 0.3,
                    draw_gt: bool = False) -> np.ndarray:
    """Draw the predicted boxes and class names of one image.

    What is drawn is :func:`select_detections`' choice.

    Args:
        image (np.ndarray): RGB image, (H, W, 3) uint8.
        data_sample (DetDataSample): Holds ``pred_instances`` (and
            ``gt_instances`` when ``draw_gt``).
        dataset_meta (dict): ``classes`` (and optionally ``palette``).
        score_thr (float): Draw predictions scoring at least this.
            Defaults to 0.3.
        draw_gt (bool): Also draw the ground truth, left of the
            predictions. Defaults to False.

    Returns:
        np.ndarray: The drawn RGB image.
    """
    from mmdet.visualization import DetLocalVisualizer
    visualizer = DetLocalVisualizer.get_instance('mmyoloms_detections')
    visualizer.dataset_meta = dataset_meta
    shown = DetDataSample(metainfo=data_sample.metainfo)
    shown.pred_instances = select_detections(data_sample, score_thr)
    if draw_gt:
        shown.gt_instances = data_sample.gt_instances
    visualizer.add_datasample(
        'detections',
        image,
        shown,
        draw_gt=draw_gt,
        draw_pred=True,
        show=False,
        pred_score_thr=score_thr)
    return visualizer.get_image()


def tile_images(images: Sequence[np.ndarray],
                ncols: int = 4,
                tile_size: int = 320,
                pad_value: int = 255) -> np.ndarray:
    """Tile images into a grid, each scaled to fit a square tile.

    Args:
        images (Sequence[np.ndarray]): (H, W, 3) uint8 images.
        ncols (int): Tiles per row. Defaults to 4.
        tile_size (int): Side of a tile in pixels. Defaults to 320.
        pad_value (int): Fill of the margins. Defaults to 255.

    Returns:
        np.ndarray: The grid, (rows * tile_size, ncols * tile_size, 3).
    """
    import mmcv
    if len(images) == 0:
        raise ValueError('tile_images needs at least one image')
    if ncols < 1 or tile_size < 1:
        raise ValueError(f'ncols and tile_size must be positive, got '
                         f'{ncols} and {tile_size}')
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
    grid = np.full((nrows * tile_size, ncols * tile_size, 3), pad_value,
                   np.uint8)
    for i, img in enumerate(images):
        img = mmcv.imrescale(img, (tile_size, tile_size))
        h, w = img.shape[:2]
        r, c = divmod(i, ncols)
        y = r * tile_size + (tile_size - h) // 2
        x = c * tile_size + (tile_size - w) // 2
        grid[y:y + h, x:x + w] = img
    return grid


def save_prediction_grid(images: Sequence[np.ndarray],
                         data_samples: Sequence[DetDataSample],
                         dataset_meta: dict,
                         out_file: str,
                         score_thr: float = 0.3,
                         ncols: int = 4,
                         tile_size: Optional[int] = 320) -> np.ndarray:
    """Draw each image's detections and save them as one grid PNG.

    Args:
        images (Sequence[np.ndarray]): RGB images, (H, W, 3) uint8.
        data_samples (Sequence[DetDataSample]): Predictions, one per image,
            in the images' own coordinates.
        dataset_meta (dict): ``classes`` (and optionally ``palette``).
        out_file (str): Output image path (directories are created).
        score_thr (float): Draw predictions scoring at least this.
            Defaults to 0.3.
        ncols (int): Tiles per row. Defaults to 4.
        tile_size (int): Side of a tile in pixels. Defaults to 320.

    Returns:
        np.ndarray: The saved grid (RGB).
    """
    import mmcv
    if len(images) != len(data_samples):
        raise ValueError(f'got {len(images)} images but '
                         f'{len(data_samples)} data samples')
    drawn = [
        draw_detections(img, sample, dataset_meta, score_thr)
        for img, sample in zip(images, data_samples)
    ]
    grid = tile_images(drawn, ncols=ncols, tile_size=tile_size)
    if osp.dirname(out_file):
        os.makedirs(osp.dirname(out_file), exist_ok=True)
    mmcv.imwrite(mmcv.rgb2bgr(grid), out_file)
    return grid
