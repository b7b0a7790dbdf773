"""A YOLOv5 COCO dataset that checks its annotation file and images first.

mmdet's ``CocoDataset`` trusts its input: a missing image fails inside a
dataloader worker at the first epoch that reaches it, an unreadable image
fails there with an ``AssertionError``, and boxes of zero size or outside
the image are dropped from training without a word while pycocotools keeps
them in the evaluation ground truth (a silently lower metric).
``CheckedYOLOv5CocoDataset`` validates everything when the dataset is built,
before any training step, and raises an error naming the file and the
image or annotation id at fault.
"""
import json
import os.path as osp
from typing import List

from mmyolo.datasets import YOLOv5CocoDataset
from mmyolo.registry import DATASETS

_IMAGE_KEYS = ('id', 'file_name', 'width', 'height')
_ANN_KEYS = ('id', 'image_id', 'category_id', 'bbox', 'area')
# Boxes may overhang the image by this many pixels (rounding of converted
# annotations); more than that is an annotation error.
BOX_TOLERANCE = 1.0


def load_coco_json(ann_file: str) -> dict:
    """Read and structurally check a COCO detection annotation file.

    Checks: the file exists and is JSON; it holds ``images``,
    ``annotations`` and ``categories`` lists; every image has
    ``id, file_name, width, height`` (positive size) and a unique id; every
    annotation has ``id, image_id, category_id, bbox, area``, a unique id,
    refers to a listed image and category, and its box ``[x, y, w, h]`` has
    positive size and lies inside its image (``BOX_TOLERANCE`` px of slack).

    Args:
        ann_file (str): Path of the annotation file.

    Returns:
        dict: The parsed annotation file.

    Raises:
        FileNotFoundError: ``ann_file`` does not exist.
        ValueError: Anything above does not hold; the message names the file
            and the image or annotation id.
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file {ann_file} does not exist')
    with open(ann_file, encoding='utf-8') as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'annotation file {ann_file} is not valid JSON: '
                             f'{e}') from e
    if not isinstance(data, dict):
        raise ValueError(f'annotation file {ann_file} must hold a JSON '
                         f'object, got {type(data).__name__}')
    missing = [
        key for key in ('images', 'annotations', 'categories')
        if not isinstance(data.get(key), list)
    ]
    if missing:
        raise ValueError(f'annotation file {ann_file} lacks the COCO list(s) '
                         f'{missing}')

    images = {}
    for i, img in enumerate(data['images']):
        lacking = [k for k in _IMAGE_KEYS if k not in img]
        if lacking:
            raise ValueError(f'{ann_file}: image entry #{i} '
                             f'(id={img.get("id")}) lacks keys {lacking}')
        if img['id'] in images:
            raise ValueError(f'{ann_file}: image id {img["id"]} is repeated')
        if not (img['width'] > 0 and img['height'] > 0):
            raise ValueError(
                f'{ann_file}: image id {img["id"]} ({img["file_name"]}) has '
                f'size {img["width"]}x{img["height"]}, expected positive')
        images[img['id']] = img
    cat_ids = set()
    for i, cat in enumerate(data['categories']):
        if 'id' not in cat or 'name' not in cat:
            raise ValueError(
                f'{ann_file}: category entry #{i} lacks "id" or "name"')
        cat_ids.add(cat['id'])

    ann_ids = set()
    for i, ann in enumerate(data['annotations']):
        lacking = [k for k in _ANN_KEYS if k not in ann]
        if lacking:
            raise ValueError(f'{ann_file}: annotation entry #{i} '
                             f'(id={ann.get("id")}) lacks keys {lacking}')
        ann_id = ann['id']
        if ann_id in ann_ids:
            raise ValueError(f'{ann_file}: annotation id {ann_id} is '
                             'repeated')
        ann_ids.add(ann_id)
        img = images.get(ann['image_id'])
        if img is None:
            raise ValueError(f'{ann_file}: annotation id {ann_id} refers to '
                             f'image id {ann["image_id"]}, which is not '
                             'listed in "images"')
        if ann['category_id'] not in cat_ids:
            raise ValueError(f'{ann_file}: annotation id {ann_id} has '
                             f'category_id {ann["category_id"]}, which is not '
                             'listed in "categories"')
        bbox = ann['bbox']
        if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4
                or not all(isinstance(v, (int, float)) for v in bbox)):
            raise ValueError(f'{ann_file}: annotation id {ann_id} has bbox '
                             f'{bbox!r}, expected [x, y, w, h] numbers')
        x, y, w, h = bbox
        where = (f'{ann_file}: annotation id {ann_id} (image id {img["id"]}, '
                 f'{img["file_name"]})')
        if w <= 0 or h <= 0:
            raise ValueError(f'{where} has a box of zero or negative size '
                             f'{bbox}')
        tol = BOX_TOLERANCE
        if (x < -tol or y < -tol or x + w > img['width'] + tol
                or y + h > img['height'] + tol):
            raise ValueError(
                f'{where} has box {bbox} outside the '
                f'{img["width"]}x{img["height"]} image')
    return data


def check_image_file(path: str, width: int, height: int) -> None:
    """Check that ``path`` is a complete, decodable image of the given size.

    The header is read with Pillow (a cheap size check), then the image is
    decoded (JPEGs at 1/8 scale, which still reads every byte) so that a
    truncated file is caught too.

    Args:
        path (str): Image path.
        width (int): Width the annotation file gives.
        height (int): Height the annotation file gives.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a readable image, or its size differs.
    """
    from PIL import Image
    if not osp.isfile(path):
        raise FileNotFoundError(f'image file {path} does not exist')
    try:
        with Image.open(path) as img:
            size = img.size
            img.draft('RGB', (max(1, size[0] // 8), max(1, size[1] // 8)))
            img.load()
    except Exception as e:  # Pillow raises several types for bad files
        raise ValueError(f'image file {path} is not a readable image: '
                         f'{e}') from e
    if size != (width, height):
        raise ValueError(f'image file {path} is {size[0]}x{size[1]}, but the '
                         f'annotation file says {width}x{height}')


@DATASETS.register_module()
class CheckedYOLOv5CocoDataset(YOLOv5CocoDataset):
    """``YOLOv5CocoDataset`` that validates its data when it is built.

    Before mmdet parses the annotation file, :func:`load_coco_json` checks
    it, every class of ``metainfo['classes']`` must be a category of the
    file, and every listed image must exist, decode, and have the size the
    file gives (:func:`check_image_file`). Any problem raises
    ``FileNotFoundError`` or ``ValueError`` naming the file and the image or
    annotation id. Images without annotations are valid: in training they
    are dropped by ``filter_cfg=dict(filter_empty_gt=True)``, in validation
    they are kept (detections on them count as false positives).

    Arguments are those of ``YOLOv5CocoDataset``.
    """

    def load_data_list(self) -> List[dict]:
        """Check the annotation file and images, then load as mmdet does."""
        data = load_coco_json(self.ann_file)
        names = {cat['name'] for cat in data['categories']}
        unknown = [c for c in self.metainfo['classes'] if c not in names]
        if unknown:
            raise ValueError(
                f'classes {unknown} of the dataset metainfo are not '
                f'categories of {self.ann_file} (it has {sorted(names)})')
        for img in data['images']:
            check_image_file(
                osp.join(self.data_prefix['img'], img['file_name']),
                img['width'], img['height'])
        return super().load_data_list()
