import json
import os
import os.path as osp
from collections import Counter

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from mmyoloms.datasets import SHAPES_CLASSES, generate_shapes_dataset


def _read(root, split='train'):
    with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
        return json.load(f)


def _tree_bytes(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


@pytest.fixture(scope='module')
def default_sized(tmp_path_factory):
    """40 images at the default image and object sizes."""
    root = str(tmp_path_factory.mktemp('shapes'))
    files = generate_shapes_dataset(root, 40, 4, seed=3, progress=False)
    return root, files


def test_deterministic_in_seed(tmp_path):
    kwargs = dict(num_train=3, num_val=2, img_size_range=(64, 96),
                  progress=False)
    generate_shapes_dataset(str(tmp_path / 'a'), seed=1, **kwargs)
    generate_shapes_dataset(str(tmp_path / 'b'), seed=1, **kwargs)
    generate_shapes_dataset(str(tmp_path / 'c'), seed=2, **kwargs)
    a, b, c = (_tree_bytes(str(tmp_path / n)) for n in 'abc')
    assert sorted(a) == sorted(b) == sorted(c)
    assert len(a) == 3 + 2 + 2  # images and two annotation files
    assert a == b
    assert a['train/000000.jpg'] != c['train/000000.jpg']


def test_loads_with_pycocotools_and_matches_images(default_sized):
    root, files = default_sized
    assert set(files) == {'train', 'val'}
    coco = COCO(files['train'])
    assert len(coco.getImgIds()) == 40
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(
        SHAPES_CLASSES)
    sizes = set()
    for img in coco.loadImgs(coco.getImgIds()):
        pixels = cv2.imread(osp.join(root, 'train', img['file_name']))
        assert pixels.shape == (img['height'], img['width'], 3)
        assert 192 <= img['width'] <= 320 and 192 <= img['height'] <= 320
        sizes.add((img['width'], img['height']))
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=[img['id']])):
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0
            assert x >= 0 and y >= 0
            assert x + w <= img['width'] and y + h <= img['height']
            # visible-pixel area fits in the box and is not negligible
            assert 16 <= ann['area'] <= w * h
            assert ann['iscrowd'] == 0
    assert len(sizes) > 30  # image sizes vary


def test_multi_scale_classes_and_occlusion(default_sized):
    _, files = default_sized
    data = _read(osp.dirname(osp.dirname(files['train'])))
    anns = data['annotations']
    buckets = Counter('small' if a['area'] < 32**2 else
                      'medium' if a['area'] < 96**2 else 'large'
                      for a in anns)
    # every COCO size bucket holds a real share of the objects
    for bucket in ('small', 'medium', 'large'):
        assert buckets[bucket] >= 0.1 * len(anns), buckets
    assert set(a['category_id'] for a in anns) == {1, 2, 3, 4, 5}
    # aspect ratios vary
    ratios = [a['bbox'][2] / a['bbox'][3] for a in anns]
    assert min(ratios) < 0.6 and max(ratios) > 1.6
    # shapes overlap (partial occlusion) in some images
    by_image = {}
    for a in anns:
        by_image.setdefault(a['image_id'], []).append(a['bbox'])
    overlapping = 0
    for boxes in by_image.values():
        b = np.array(boxes, dtype=float)
        x2, y2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
        iw = np.minimum(x2[:, None], x2) - np.maximum(b[:, None, 0], b[:, 0])
        ih = np.minimum(y2[:, None], y2) - np.maximum(b[:, None, 1], b[:, 1])
        inter = (iw > 0) & (ih > 0)
        np.fill_diagonal(inter, False)
        overlapping += int(inter.any())
    assert overlapping >= 5


def test_reuse_existing(tmp_path):
    root = str(tmp_path)
    kwargs = dict(num_train=2, num_val=1, img_size_range=(64, 80),
                  progress=False)
    files = generate_shapes_dataset(root, **kwargs)
    stamp = os.stat(files['train']).st_mtime_ns
    generate_shapes_dataset(root, reuse_existing=True, **kwargs)
    assert os.stat(files['train']).st_mtime_ns == stamp
    # other arguments: written again
    generate_shapes_dataset(root, seed=5, reuse_existing=True, **kwargs)
    assert _read(root)['info']['generator_args']['seed'] == 5
    # an incomplete dataset is written again
    os.remove(osp.join(root, 'train', '000001.jpg'))
    generate_shapes_dataset(root, seed=5, reuse_existing=True, **kwargs)
    assert osp.isfile(osp.join(root, 'train', '000001.jpg'))


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_train=0), 'num_train'),
    (dict(num_val=1.5), 'num_val'),
    (dict(img_size_range=(16, 64)), 'img_size_range'),
    (dict(img_size_range=(128, 64)), 'img_size_range'),
    (dict(max_objects=0), 'max_objects'),
    (dict(min_visible=0), 'min_visible'),
    (dict(size_probs=(0.5, 0.5)), 'size_probs'),
    (dict(size_probs=(0.5, 0.6, -0.1)), 'size_probs'),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate_shapes_dataset(str(tmp_path), progress=False, **kwargs)
    assert not osp.exists(osp.join(str(tmp_path), 'annotations'))


def test_generate_shapes_tool(tmp_path):
    import subprocess
    import sys

    from ..conftest import REPO_ROOT
    out = str(tmp_path / 'shapes')
    cmd = [
        sys.executable, 'tools/generate_shapes.py', out, '--num-train', '2',
        '--num-val', '1', '--img-size', '64', '96', '--reuse'
    ]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'shapes dataset ready' in proc.stdout
    coco = COCO(osp.join(out, 'annotations', 'instances_val.json'))
    assert len(coco.getImgIds()) == 1
