"""The shapes generator's second task: other classes, other backgrounds."""
import json
import os.path as osp

import numpy as np
import pytest

from mmyoloms.datasets import (SHAPES_CLASSES, TRANSFER_CLASSES,
                               generate_shapes_dataset)


def _read(root, split='train'):
    with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
        return json.load(f)


def test_transfer_variant(tmp_path):
    root = str(tmp_path / 'tr')
    generate_shapes_dataset(root, 6, 2, img_size_range=(96, 128),
                            classes=TRANSFER_CLASSES, background='tiles',
                            progress=False)
    data = _read(root)
    assert [(c['id'], c['name']) for c in data['categories']] == [
        (1, 'hexagon'), (2, 'arrow'), (3, 'crescent')]
    assert {a['category_id'] for a in data['annotations']} <= {1, 2, 3}
    assert data['info']['generator_args']['classes'] == list(
        TRANSFER_CLASSES)
    assert data['info']['generator_args']['background'] == 'tiles'
    # deterministic: the same arguments write the same files
    again = str(tmp_path / 'again')
    generate_shapes_dataset(again, 6, 2, img_size_range=(96, 128),
                            classes=TRANSFER_CLASSES, background='tiles',
                            progress=False)
    assert _read(again) == data
    for img in data['images']:
        a = np.fromfile(osp.join(root, 'train', img['file_name']), np.uint8)
        b = np.fromfile(osp.join(again, 'train', img['file_name']), np.uint8)
        assert np.array_equal(a, b)


def test_backgrounds_differ(tmp_path):
    """Same seed, same shapes: only the background style changes the
    pixels (the two tasks differ in more than their classes)."""
    import cv2
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    generate_shapes_dataset(a, 2, 1, progress=False)
    generate_shapes_dataset(b, 2, 1, background='tiles', progress=False)
    img_a = cv2.imread(osp.join(a, 'train', '000000.jpg'))
    img_b = cv2.imread(osp.join(b, 'train', '000000.jpg'))
    assert img_a.shape == img_b.shape
    assert np.abs(img_a.astype(int) - img_b.astype(int)).mean() > 10


def test_default_arguments_recorded_as_before(tmp_path):
    """Datasets written before classes/background existed stay
    reusable: the defaults are not recorded."""
    root = str(tmp_path / 's')
    generate_shapes_dataset(root, 2, 1, progress=False)
    args = _read(root)['info']['generator_args']
    assert 'classes' not in args and 'background' not in args
    assert [c['name'] for c in _read(root)['categories']] == list(
        SHAPES_CLASSES)


@pytest.mark.parametrize('kwargs,match', [
    (dict(classes=('hexagon', 'circle')), 'classes must be distinct'),
    (dict(classes=('arrow', 'arrow')), 'classes must be distinct'),
    (dict(classes=()), 'classes must be distinct'),
    (dict(background='plain'), 'background must be one of'),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate_shapes_dataset(str(tmp_path / 'x'), 1, 1, progress=False,
                                **kwargs)
