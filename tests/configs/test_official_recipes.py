"""Our COCO recipes are the official release's, key by key.

``tests/data/official_recipes.json`` holds the official configs (six YOLO-MS,
YOLOv6-MS-t 400e / 300e, YOLOv8-MS-n 500e) resolved on mmyolo 0.6.0 and
flattened to dotted keys (``a.b[2].c``; a list of plain values is one
leaf). Each of our configs is resolved and flattened the same way and every
key is compared. The only differences allowed are listed below, each with
its reason; anything else, a training or an evaluation key alike, fails.
"""
import json
import os.path as osp
import re

import pytest
from mmengine.config import Config

from mmyolo.registry import MODELS
from ..conftest import OFFICIAL_RECIPES, REPO_ROOT
from .helpers import effective_lr

with open(OFFICIAL_RECIPES) as f:
    OFFICIAL = json.load(f)

# Official type names -> ours. The official names are registered as aliases
# of the same classes (checked below), so the official configs build our
# modules too.
TYPE_NAMES = {
    'YOLOMS': 'YOLOMSBackbone',
    'SE': 'SEAttention',
    'YOLOv6MS': 'YOLOv6MSBackbone',
    'YOLOv8MS': 'YOLOv8MSBackbone',
}

# Top-level variables of the official files that nothing reads (the neck
# dict spells these values out); ours do not define them.
OFFICIAL_ONLY_VARIABLES = {
    'in_channels', 'in_down_ratio', 'kernel_sizes', 'mid_channels',
    'out_channels'
}
# Ours only: the plugin import that registers our modules with mmyolo's
# registry (the official code needs a forked train script instead).
OURS_ONLY_VARIABLES = {'custom_imports'}

_INDEX = re.compile(r'^(?P<head>.*)\[(?P<index>\d+)\]$')


def flatten(value, prefix=''):
    """Dotted keys of a resolved config, as in official_recipes.json."""
    out = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(flatten(item, f'{prefix}.{key}' if prefix else key))
    elif isinstance(value, (list, tuple)) and any(
            isinstance(item, (dict, list, tuple)) for item in value):
        for i, item in enumerate(value):
            out.update(flatten(item, f'{prefix}[{i}]'))
    elif isinstance(value, (list, tuple)):
        out[prefix] = [normalise(v) for v in value]
    else:
        out[prefix] = normalise(value)
    return out


def normalise(value):
    """JSON's view of a leaf: tuples are lists."""
    if isinstance(value, tuple):
        return [normalise(v) for v in value]
    return value


def _merge_kernel_sizes(flat):
    """``x.kernel_sizes[i] = [k, k]`` (the official configs write square
    kernels as ``(k, k)``) becomes one leaf ``x.kernel_sizes = [..., k]``,
    as our configs write it."""
    merged, lists = {}, {}
    for key, value in flat.items():
        match = _INDEX.match(key)
        if match and match['head'].split('.')[-1] == 'kernel_sizes':
            if isinstance(value, list):
                if len(value) != 2 or value[0] != value[1]:
                    raise AssertionError(f'{key}: non-square kernel {value}')
                value = value[0]
            lists.setdefault(match['head'], {})[int(match['index'])] = value
        else:
            merged[key] = value
    for head, items in lists.items():
        merged[head] = [items[i] for i in range(len(items))]
    return merged


def comparable(flat):
    """Drop the markers that change nothing and map type names.

    ``_delete_`` only steers merging; ``_scope_='mmyolo'`` names the
    default scope these configs run in (mmengine writes it into dicts
    inherited through ``mmyolo::`` bases). A ``_scope_`` naming another
    scope (``'mmdet'``) changes what is built and is compared.
    """
    out = {}
    for key, value in _merge_kernel_sizes(flat).items():
        last = key.split('.')[-1]
        if last == '_delete_' or (last == '_scope_' and value == 'mmyolo'):
            continue
        if last == 'type':
            value = TYPE_NAMES.get(value, value)
        out[key] = value
    return out


def top_level(key):
    return re.split(r'[.\[]', key, maxsplit=1)[0]


def recipe_diff(name):
    """Keys whose values differ between our resolved config ``name`` and
    the official one, less the allowed differences."""
    ours = comparable(flatten(
        Config.fromfile(osp.join(REPO_ROOT, 'configs', name)).to_dict()))
    official = comparable(OFFICIAL[name])
    diff = {}
    for key in sorted(set(ours) | set(official)):
        if key not in ours and top_level(key) in OFFICIAL_ONLY_VARIABLES:
            continue
        if key not in official and top_level(key) in OURS_ONLY_VARIABLES:
            continue
        if ours.get(key, '<absent>') != official.get(key, '<absent>'):
            diff[key] = (ours.get(key, '<absent>'),
                         official.get(key, '<absent>'))
    return diff


@pytest.mark.parametrize('name', sorted(OFFICIAL))
def test_recipe_equals_official(name):
    diff = recipe_diff(name)
    assert not diff, '\n'.join(f'{key}: ours {ours!r}, official {off!r}'
                               for key, (ours, off) in diff.items())


@pytest.mark.parametrize(
    'name', sorted(name for name in OFFICIAL if name.startswith('yoloms/')))
def test_yoloms_learning_rate_is_scaled_as_in_the_official_runs(name):
    """The official YOLO-MS runs trained at 0.004 x total batch / 256: on
    8 GPUs x 8 images, 0.001 (their logs)."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', name))
    assert effective_lr(cfg, world_size=8) == pytest.approx(0.001)


def test_recipe_test_catches_a_changed_training_key(monkeypatch):
    """The comparison is not vacuous: one changed key is reported."""
    name = 'yoloms/yoloms-xs_syncbn_fast_8xb8-300e_coco.py'
    changed = dict(OFFICIAL[name])
    changed['optim_wrapper.optimizer.lr'] = 0.002
    changed['random_resize_ratio_range'] = [0.1, 2.0]
    monkeypatch.setitem(OFFICIAL, name, changed)
    assert set(recipe_diff(name)) == {
        'optim_wrapper.optimizer.lr', 'random_resize_ratio_range'
    }


@pytest.mark.parametrize('official,ours', sorted(TYPE_NAMES.items()))
def test_official_type_names_are_aliases(official, ours):
    assert MODELS.get(official) is MODELS.get(ours)
    assert MODELS.get(ours) is not None


def test_flatten_matches_the_reference_format():
    flat = flatten(dict(a=dict(b=[1, 2], c=[dict(d=(3, 3))]),
                        e=[(1, 2), 3], f='x'))
    assert flat == {'a.b': [1, 2], 'a.c[0].d': [3, 3], 'e[0]': [1, 2],
                    'e[1]': 3, 'f': 'x'}
    assert _merge_kernel_sizes({'n.kernel_sizes[0]': 1,
                                'n.kernel_sizes[1]': [3, 3]}) == {
                                    'n.kernel_sizes': [1, 3]}
