from .checked_coco import (CheckedYOLOv5CocoDataset, check_image_file,
                           load_coco_json)
from .shapes import (BACKGROUNDS, SHAPE_NAMES, SHAPES_CLASSES,
                     SHAPES_METAINFO, SHAPES_PALETTE, TRANSFER_CLASSES,
                     generate_shapes_dataset)

__all__ = [
    'CheckedYOLOv5CocoDataset', 'check_image_file', 'load_coco_json',
    'SHAPES_CLASSES', 'SHAPES_METAINFO', 'SHAPES_PALETTE',
    'TRANSFER_CLASSES', 'SHAPE_NAMES', 'BACKGROUNDS',
    'generate_shapes_dataset'
]
