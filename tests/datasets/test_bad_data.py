"""What a user sees when the dataset is broken: an error naming the file
or annotation id when the dataset is built, before any training step."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from mmyolo.registry import DATASETS
from mmyoloms.datasets import SHAPES_METAINFO
from ..conftest import REPO_ROOT
from ..shapes_utils import make_tiny_shapes, tiny_shapes_config


@pytest.fixture(scope='module')
def clean_root(tmp_path_factory):
    return make_tiny_shapes(str(tmp_path_factory.mktemp('clean')),
                            num_train=4, num_val=2)


@pytest.fixture
def root(clean_root, tmp_path):
    """A fresh, writable copy of the tiny dataset."""
    dst = str(tmp_path / 'shapes')
    shutil.copytree(clean_root, dst)
    return dst


def _ann_path(root):
    return osp.join(root, 'annotations', 'instances_train.json')


def _edit(root, fn):
    path = _ann_path(root)
    with open(path) as f:
        data = json.load(f)
    fn(data)
    with open(path, 'w') as f:
        json.dump(data, f)
    return data


def _build(root, test_mode=False, metainfo=SHAPES_METAINFO):
    return DATASETS.build(
        dict(
            type='CheckedYOLOv5CocoDataset',
            data_root=root,
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/'),
            metainfo=metainfo,
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            test_mode=test_mode,
            pipeline=[]))


def test_clean_dataset_loads(root):
    dataset = _build(root)
    assert len(dataset) == 4
    info = dataset.get_data_info(0)
    assert osp.isfile(info['img_path'])
    assert len(info['instances']) >= 1


def test_missing_image_file(root):
    os.remove(osp.join(root, 'train', '000002.jpg'))
    with pytest.raises(FileNotFoundError, match=r'000002\.jpg'):
        _build(root)


def test_corrupt_image(root):
    with open(osp.join(root, 'train', '000001.jpg'), 'wb') as f:
        f.write(b'this is not a JPEG')
    with pytest.raises(ValueError,
                       match=r'000001\.jpg is not a readable image'):
        _build(root)


def test_truncated_image(root):
    path = osp.join(root, 'train', '000003.jpg')
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(ValueError,
                       match=r'000003\.jpg is not a readable image'):
        _build(root)


def test_image_size_differs_from_annotation(root):
    _edit(root, lambda d: d['images'][0].update(width=d['images'][0]['width']
                                                + 10))
    with pytest.raises(ValueError, match=r'000000\.jpg is \d+x\d+, but'):
        _build(root)


def test_annotation_file_not_json(root):
    with open(_ann_path(root), 'w') as f:
        f.write('{"images": [')
    with pytest.raises(ValueError, match=r'instances_train\.json is not '
                       'valid JSON'):
        _build(root)


def test_annotation_file_missing(root):
    os.remove(_ann_path(root))
    with pytest.raises(FileNotFoundError, match=r'instances_train\.json'):
        _build(root)


@pytest.mark.parametrize('key', ['images', 'annotations', 'categories'])
def test_annotation_file_lacks_top_level_key(root, key):
    _edit(root, lambda d: d.pop(key))
    with pytest.raises(ValueError, match=rf"lacks the COCO list.*'{key}'"):
        _build(root)


@pytest.mark.parametrize('key', ['bbox', 'category_id', 'image_id', 'area'])
def test_annotation_lacks_key(root, key):
    data = _edit(root, lambda d: d['annotations'][1].pop(key))
    ann_id = data['annotations'][1]['id']
    with pytest.raises(ValueError,
                       match=rf"\(id={ann_id}\) lacks keys \['{key}'\]"):
        _build(root)


def test_repeated_ids(root):
    _edit(root, lambda d: d['annotations'][1].update(
        id=d['annotations'][0]['id']))
    with pytest.raises(ValueError, match='annotation id 1 is repeated'):
        _build(root)
    _edit(root, lambda d: d['images'][1].update(id=d['images'][0]['id']))
    with pytest.raises(ValueError, match='image id 1 is repeated'):
        _build(root)


def test_image_entry_lacks_key(root):
    _edit(root, lambda d: d['images'][2].pop('file_name'))
    with pytest.raises(ValueError, match=r"image entry #2 \(id=3\) lacks "
                       r"keys \['file_name'\]"):
        _build(root)


def test_annotation_refers_to_unknown_image_or_category(root):
    _edit(root, lambda d: d['annotations'][0].update(image_id=999))
    with pytest.raises(ValueError, match='annotation id 1 refers to image '
                       'id 999'):
        _build(root)
    _edit(root, lambda d: d['annotations'][0].update(image_id=1,
                                                     category_id=42))
    with pytest.raises(ValueError, match='annotation id 1 has category_id '
                       '42'):
        _build(root)


@pytest.mark.parametrize('bbox', [[5, 5, 0, 10], [5, 5, 10, 0],
                                  [5, 5, -3, 10]])
def test_zero_size_box(root, bbox):
    _edit(root, lambda d: d['annotations'][2].update(bbox=bbox))
    with pytest.raises(ValueError, match='annotation id 3 .* zero or '
                       'negative size'):
        _build(root)


@pytest.mark.parametrize('shift', ['right', 'below', 'left'])
def test_box_outside_image(root, shift):

    def move(d):
        ann = d['annotations'][0]
        img = next(i for i in d['images'] if i['id'] == ann['image_id'])
        x, y, w, h = ann['bbox']
        if shift == 'right':
            x = img['width'] - w / 2
        elif shift == 'below':
            y = img['height'] + 5
        else:
            x = -10
        ann['bbox'] = [x, y, w, h]

    _edit(root, move)
    with pytest.raises(ValueError, match=r'annotation id 1 \(image id 1, '
                       r'000000\.jpg\) has box .* outside'):
        _build(root)


def test_box_rounding_within_tolerance_is_accepted(root):

    def nudge(d):
        ann = d['annotations'][0]
        img = next(i for i in d['images'] if i['id'] == ann['image_id'])
        ann['bbox'] = [0, 0, img['width'] + 0.5, ann['bbox'][3]]

    _edit(root, nudge)
    assert len(_build(root)) == 4


def test_image_without_annotations_is_filtered_in_training_only(root):
    data = _edit(
        root, lambda d: d.update(annotations=[
            a for a in d['annotations'] if a['image_id'] != 2
        ]))
    assert all(a['image_id'] != 2 for a in data['annotations'])
    train = _build(root)
    assert len(train) == 3
    assert 2 not in [train.get_data_info(i)['img_id'] for i in range(3)]
    val = _build(root, test_mode=True)
    assert len(val) == 4
    empty = [
        val.get_data_info(i) for i in range(4)
        if val.get_data_info(i)['img_id'] == 2
    ]
    assert len(empty) == 1 and empty[0]['instances'] == []


def test_metainfo_class_missing_from_annotation_file(root):
    with pytest.raises(ValueError, match=r"classes \['hexagon'\]"):
        _build(root, metainfo=dict(classes=('ellipse', 'hexagon')))


def test_train_tool_fails_before_training(root, tmp_path):
    """tools/train.py stops when it builds the dataset, naming the file."""
    os.remove(osp.join(root, 'train', '000001.jpg'))
    config = tiny_shapes_config(root, str(tmp_path / 'cfg.py'))
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir',
         str(tmp_path / 'work')],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode != 0
    assert 'FileNotFoundError' in proc.stderr
    assert osp.join(root, 'train', '000001.jpg') + ' does not exist' in \
        proc.stderr
    assert 'Epoch(train)' not in proc.stdout + proc.stderr
