"""Draw ground truth and detections, and tile them into one picture.

Drawing uses the primitives of mmdet's ``DetLocalVisualizer`` (boxes in the
class colours of the dataset palette, class name and score on a dark label)
with one label size for every box and every panel: mmdet scales a label
with its box's area, which makes labels of small objects unreadable and
label sizes differ from panel to panel. Every image is first scaled to the
size of its tile, so that the labels keep their size in the final grid.
"""
import os
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

# Gap between the ground-truth and the prediction panel of one image.
PANEL_GAP = 4


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


def _draw_instances(visualizer, image: np.ndarray, instances: InstanceData,
                    dataset_meta: dict, font_size: int,
                    line_width: int) -> np.ndarray:
    """Boxes in their class's palette colour, labelled ``class[ score]``."""
    from mmdet.visualization.palette import get_palette
    visualizer.set_image(image)
    classes = dataset_meta['classes']
    if len(instances) > 0:
        labels = [int(label) for label in instances.labels]
        palette = get_palette(dataset_meta.get('palette', 'random'),
                              len(classes))
        colors = [tuple(palette[label]) for label in labels]
        bboxes = instances.bboxes
        visualizer.draw_bboxes(
            bboxes, edge_colors=colors, alpha=0.8, line_widths=line_width)
        texts = []
        for i, label in enumerate(labels):
            text = classes[label]
            if 'scores' in instances:
                text += f' {float(instances.scores[i]):.2f}'
            texts.append(text)
        visualizer.draw_texts(
            texts,
            bboxes[:, :2] + line_width,
            colors=colors,
            font_sizes=font_size,
            bboxes=[dict(facecolor='black', alpha=0.8, pad=0.7,
                         edgecolor='none')] * len(texts))
    return visualizer.get_image()


def draw_detections(image: np.ndarray,
                    data_sample: DetDataSample,
                    dataset_meta: dict,
                    score_thr: float = 0.3,
                    draw_gt: bool = False,
                    font_size: int = 9,
                    line_width: int = 2) -> np.ndarray:
    """Draw the predicted boxes of one image, and its ground truth beside.

    What is drawn of the predictions is :func:`select_detections`' choice.

    Args:
        image (np.ndarray): RGB image, (H, W, 3) uint8.
        data_sample (DetDataSample): Holds ``pred_instances`` (and
            ``gt_instances`` when ``draw_gt``), in the image's coordinates.
        dataset_meta (dict): ``classes`` (and optionally ``palette``).
        score_thr (float): Draw predictions scoring at least this.
            Defaults to 0.3.
        draw_gt (bool): Draw the ground truth in a panel left of the
            predictions. Defaults to False.
        font_size (int): Label size in points, the same for every box.
            Defaults to 9.
        line_width (int): Box line width in pixels. Defaults to 2.

    Returns:
        np.ndarray: The drawn RGB image, (H, W, 3), or
        (H, 2 W + PANEL_GAP, 3) with the ground truth.
    """
    from mmdet.visualization import DetLocalVisualizer
    visualizer = DetLocalVisualizer.get_instance('mmyoloms_detections')
    pred = _draw_instances(visualizer, image,
                           select_detections(data_sample, score_thr),
                           dataset_meta, font_size, line_width)
    if not draw_gt:
        return pred
    if 'gt_instances' not in data_sample:
        raise ValueError('draw_gt=True but the data sample holds no '
                         'gt_instances')
    gt = _draw_instances(visualizer, image, data_sample.gt_instances,
                         dataset_meta, font_size, line_width)
    gap = np.full((image.shape[0], PANEL_GAP, 3), 255, np.uint8)
    return np.concatenate([gt, gap, pred], axis=1)


def _tile_shape(tile_size: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
    if isinstance(tile_size, int):
        tile_size = (tile_size, tile_size)
    if len(tile_size) != 2 or min(tile_size) < 1:
        raise ValueError(f'tile_size must be a positive int or (height, '
                         f'width), got {tile_size}')
    return tuple(tile_size)


def tile_images(images: Sequence[np.ndarray],
                ncols: int = 4,
                tile_size: Union[int, Tuple[int, int]] = 320,
                pad_value: int = 255) -> np.ndarray:
    """Tile images into a grid, each scaled to fit its tile.

    Args:
        images (Sequence[np.ndarray]): (H, W, 3) uint8 images.
        ncols (int): Tiles per row. Defaults to 4.
        tile_size (int or tuple[int, int]): Side of a square tile, or its
            (height, width), in pixels. Defaults to 320.
        pad_value (int): Fill of the margins. Defaults to 255.

    Returns:
        np.ndarray: The grid, (rows * tile height, ncols * tile width, 3).
    """
    import mmcv
    if len(images) == 0:
        raise ValueError('tile_images needs at least one image')
    if ncols < 1:
        raise ValueError(f'ncols must be positive, got {ncols}')
    th, tw = _tile_shape(tile_size)
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
    grid = np.full((nrows * th, ncols * tw, 3), pad_value, np.uint8)
    for i, img in enumerate(images):
        scale = min(th / img.shape[0], tw / img.shape[1])
        if scale != 1:
            img = mmcv.imrescale(img, scale)
        h, w = img.shape[:2]
        r, c = divmod(i, ncols)
        y = r * th + (th - h) // 2
        x = c * tw + (tw - w) // 2
        grid[y:y + h, x:x + w] = img
    return grid


def _scaled(image: np.ndarray, data_sample: DetDataSample,
            size: int) -> Tuple[np.ndarray, DetDataSample]:
    """The image scaled so that its longer side is ``size``, with its
    boxes scaled alike."""
    import mmcv
    scale = size / max(image.shape[:2])
    if scale == 1:
        return image, data_sample
    image = mmcv.imrescale(image, scale)
    scaled = data_sample.clone()
    for name in ('pred_instances', 'gt_instances'):
        if name in scaled:
            instances = getattr(scaled, name)
            instances.bboxes = instances.bboxes * scale
    return image, scaled


def save_prediction_grid(images: Sequence[np.ndarray],
                         data_samples: Sequence[DetDataSample],
                         dataset_meta: dict,
                         out_file: str,
                         score_thr: float = 0.3,
                         ncols: int = 4,
                         tile_size: Optional[int] = 320,
                         draw_gt: bool = False,
                         font_size: int = 9) -> np.ndarray:
    """Draw each image's detections and save them as one grid PNG.

    Each image is scaled so that its longer side is ``tile_size`` before
    drawing, so that boxes, lines and labels have one size across the grid.

    Args:
        images (Sequence[np.ndarray]): RGB images, (H, W, 3) uint8.
        data_samples (Sequence[DetDataSample]): Predictions (and ground
            truth, for ``draw_gt``), one per image, in the images' own
            coordinates.
        dataset_meta (dict): ``classes`` (and optionally ``palette``).
        out_file (str): Output image path (directories are created).
        score_thr (float): Draw predictions scoring at least this.
            Defaults to 0.3.
        ncols (int): Tiles per row. Defaults to 4.
        tile_size (int): Longer side of each image in the grid, in pixels.
            Defaults to 320.
        draw_gt (bool): Draw the ground truth left of each image's
            predictions. Defaults to False.
        font_size (int): Label size of every box. Defaults to 9.

    Returns:
        np.ndarray: The saved grid (RGB).
    """
    import mmcv
    if len(images) != len(data_samples):
        raise ValueError(f'got {len(images)} images but '
                         f'{len(data_samples)} data samples')
    drawn = []
    for img, sample in zip(images, data_samples):
        img, sample = _scaled(img, sample, tile_size)
        drawn.append(
            draw_detections(img, sample, dataset_meta, score_thr, draw_gt,
                            font_size))
    tile = (tile_size, 2 * tile_size + PANEL_GAP) if draw_gt else tile_size
    grid = tile_images(drawn, ncols=ncols, tile_size=tile)
    if osp.dirname(out_file):
        os.makedirs(osp.dirname(out_file), exist_ok=True)
    mmcv.imwrite(mmcv.rgb2bgr(grid), out_file)
    return grid
