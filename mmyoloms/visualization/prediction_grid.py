"""Draw ground truth and detections, and tile them into one picture.

:func:`save_coco_prediction_grid` draws the same grid from files: a COCO
annotation file (the ground truth) and a COCO results JSON (the
detections, as mmdet's ``CocoMetric`` writes them with
``outfile_prefix``).

Drawing uses the primitives of mmdet's ``DetLocalVisualizer`` (boxes in the
class colours of the dataset palette, class name and score on a dark label)
with one label size for every box and every panel: mmdet scales a label
with its box's area, which makes labels of small objects unreadable and
label sizes differ from panel to panel. Every image is first scaled to the
size of its tile, so that the labels keep their size in the final grid.
"""
import json
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

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


def _coco_instances(records: Sequence[dict], label_of: dict,
                    with_scores: bool) -> InstanceData:
    """COCO ``bbox`` (x, y, w, h) records as (x1, y1, x2, y2) instances."""
    import torch
    boxes = [[x, y, x + w, y + h] for x, y, w, h in
             (r['bbox'] for r in records)]
    data = dict(
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        labels=torch.tensor([label_of[r['category_id']] for r in records],
                            dtype=torch.long))
    if with_scores:
        data['scores'] = torch.tensor([r['score'] for r in records],
                                      dtype=torch.float32)
    return InstanceData(**data)


def save_coco_prediction_grid(ann_file: str,
                              img_dir: str,
                              results_file: str,
                              out_file: str,
                              num_images: int = 12,
                              score_thr: float = 0.3,
                              palette: Union[str, Sequence, None] = None,
                              ncols: int = 3,
                              tile_size: int = 256) -> np.ndarray:
    """Ground truth beside the detections of a COCO results file, for the
    first images of a COCO annotation file, saved as one grid.

    Args:
        ann_file (str): COCO annotation file: images, ground truth and
            categories (their order gives the label and palette colour).
        img_dir (str): Folder of the images' ``file_name``.
        results_file (str): COCO results JSON (a list of ``image_id,
            category_id, bbox, score``).
        out_file (str): Output image path (directories are created).
        num_images (int): Images drawn, the first of ``ann_file``.
            Defaults to 12.
        score_thr (float): Draw detections scoring at least this.
            Defaults to 0.3.
        palette (str or Sequence, optional): Class colours, as mmdet's
            ``get_palette`` takes them. Defaults to None (``'random'``).
        ncols (int): Image pairs per row. Defaults to 3.
        tile_size (int): Longer side of each image. Defaults to 256.

    Returns:
        np.ndarray: The saved grid (RGB).

    Raises:
        ValueError: ``num_images`` < 1, or a record names a category that
            ``ann_file`` lacks.
    """
    import mmcv
    from mmdet.structures import DetDataSample
    if num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}')
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)
    with open(results_file, encoding='utf-8') as f:
        results = json.load(f)
    label_of = {cat['id']: i for i, cat in enumerate(coco['categories'])}
    unknown = {r['category_id'] for r in results} - set(label_of)
    if unknown:
        raise ValueError(f'{results_file} names categories {sorted(unknown)} '
                         f'that {ann_file} does not have')
    infos = coco['images'][:num_images]
    by_image = {info['id']: ([], []) for info in infos}
    for key, records in ((0, coco['annotations']), (1, results)):
        for record in records:
            if record['image_id'] in by_image:
                by_image[record['image_id']][key].append(record)
    images: List[np.ndarray] = []
    samples: List[DetDataSample] = []
    for info in infos:
        images.append(
            mmcv.bgr2rgb(mmcv.imread(osp.join(img_dir, info['file_name']))))
        gt, pred = by_image[info['id']]
        sample = DetDataSample()
        sample.gt_instances = _coco_instances(gt, label_of, False)
        sample.pred_instances = _coco_instances(pred, label_of, True)
        samples.append(sample)
    meta = dict(classes=[cat['name'] for cat in coco['categories']],
                palette=palette or 'random')
    return save_prediction_grid(images, samples, meta, out_file,
                                score_thr=score_thr, ncols=ncols,
                                tile_size=tile_size, draw_gt=True)
