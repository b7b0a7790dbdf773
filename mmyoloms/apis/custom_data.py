"""A training config for your own COCO-format data, from any model config.

:func:`make_custom_config` takes a model config of the package (or an
``mmyolo::`` config) and a data root, checks the data, and returns the text
of a config that inherits the model config (``_base_``) and overrides only
what changed:

* **data**: ``data_root``, the annotation files and image prefixes of the
  train, val and test dataloaders (test defaults to val), the evaluators'
  ``ann_file``, and ``metainfo`` (class names read from the train
  annotation file) on every dataloader;
* **classes**: every ``num_classes`` of the config, found by walking it
  (the head, the assigner, YOLOv6's initial assigner, ...);
* **schedule**: ``--epochs`` (40 by default when fine-tuning with
  ``load_from``, capped at the recipe's) through
  :func:`mmyoloms.engine.rescale_schedule` (cosine start, stage-2 switch,
  validation and checkpoint intervals); the iteration-based warm-up lasts
  at most one epoch of the new data;
* **batch size**: the train batch size; the learning rate follows the
  recipe's ``auto_scale_lr`` (the runner scales ``optimizer.lr`` by the
  total batch over ``base_batch_size`` when it is enabled, so the written
  lr stays the recipe's base lr and the effective one is reported), and
  YOLOv5-style optimizers get the new ``batch_size_per_gpu``;
* **input size**: every size derived from the config's ``img_scale``
  (pipelines, their copies in the dataloaders and the pipeline switch,
  batch shapes), scaled to ``--img-size``.

How mmdet maps categories to labels (``CocoDataset.load_data_list`` and
``CocoMetric``): label ``i`` is the ``i``-th entry of the file's
``categories`` list whose name is in ``metainfo['classes']``, so the class
names are written in the order of that list, whatever the ids are (ids
need not be contiguous or start at 1). The val and test files must list
the same categories in the same order, or their labels would differ from
the training labels.
"""
import copy
import math
import os
import os.path as osp
import textwrap
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from ..utils import resolve_config_path

__all__ = [
    'CustomConfig', 'check_coco_split', 'find_num_classes',
    'make_custom_config', 'FINETUNE_EPOCHS'
]

# Epochs of a fine-tuning run when none are given (mmyolo's own fine-tuning
# example, rtmdet_tiny_fast_1xb12-40e_cat.py, trains 40); a recipe with
# fewer epochs keeps its own.
FINETUNE_EPOCHS = 40
# Keys whose values are sizes derived from img_scale.
_SIZE_KEYS = ('img_scale', 'scale', 'crop_size', 'size', 'img_size',
              'border')
_SIZE_RATIOS = (-0.5, 0.5, 1, 1.5, 2)
_CUSTOM_IMPORTS = dict(imports=['mmyoloms'], allow_failed_imports=False)


@dataclass
class CustomConfig:
    """What :func:`make_custom_config` made.

    Attributes:
        text (str): The config file's text.
        cfg (Config): The complete config it gives (base + overrides).
        notes (list[str]): What was set and why, one line each (the
            category mapping, the effective lr, the rescaled schedule).
        classes (tuple[str]): Class names, label order.
    """
    text: str
    cfg: Config
    notes: List[str] = field(default_factory=list)
    classes: Tuple[str, ...] = ()


def check_coco_split(ann_file: str, img_dir: str, split: str,
                     need_annotations: bool = True) -> dict:
    """Check one split of a COCO dataset before training.

    The file's structure and boxes are checked by
    :func:`mmyoloms.datasets.load_coco_json`; besides, it must list
    categories with distinct names and at least one image, every listed
    image must exist under ``img_dir``, and (``need_annotations``) it must
    hold at least one annotation.

    Args:
        ann_file (str): Annotation file.
        img_dir (str): Directory the images' ``file_name`` are relative to.
        split (str): Name of the split, for messages (``'train'``).
        need_annotations (bool): Whether zero annotations is an error.
            Defaults to True.

    Returns:
        dict: ``categories`` (list of ``(id, name)`` in file order),
        ``num_images``, ``num_annotations`` and ``per_category`` (number
        of annotations per category id).

    Raises:
        FileNotFoundError: The annotation file or an image is missing.
        ValueError: Anything else above does not hold.
    """
    from ..datasets import load_coco_json
    flag = f'--{split}-ann' if split in ('train', 'val', 'test') else None
    if not osp.isfile(ann_file):
        raise FileNotFoundError(
            f'{split} annotation file {ann_file} does not exist; give its '
            'path relative to --data-root' +
            (f' with {flag}' if flag else ''))
    data = load_coco_json(ann_file)
    cats = [(c['id'], c['name']) for c in data['categories']]
    if not cats:
        raise ValueError(
            f'{ann_file} lists no categories: add a "categories" entry '
            '{"id": ..., "name": ...} per class')
    names = [name for _, name in cats]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(
            f'{ann_file}: category names {repeated} are repeated; mmdet '
            'matches classes by name, so every name must be unique')
    ids = [i for i, _ in cats]
    if len(set(ids)) != len(ids):
        raise ValueError(f'{ann_file}: category ids {ids} repeat')
    if not data['images']:
        raise ValueError(f'{ann_file} lists no images')
    missing = [
        img['file_name'] for img in data['images']
        if not osp.isfile(osp.join(img_dir, img['file_name']))
    ]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} of the {len(data["images"])} images listed in '
            f'{ann_file} are not under {img_dir}, e.g. '
            f'{osp.join(img_dir, missing[0])}; give the image directory '
            'relative to --data-root' +
            (f' with --{split}-img' if flag else ''))
    if need_annotations and not data['annotations']:
        raise ValueError(
            f'{ann_file} holds no annotations: the {split} split needs '
            'boxes to learn from or to evaluate against')
    per_category = {i: 0 for i in ids}
    for ann in data['annotations']:
        per_category[ann['category_id']] += 1
    return dict(categories=cats, num_images=len(data['images']),
                num_annotations=len(data['annotations']),
                per_category=per_category,
                images_with_boxes=len({
                    a['image_id'] for a in data['annotations']}))


def _walk(node: Any, path: Tuple = ()):
    """Yield ``(path, key, container)`` for every dict key in ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key, ), key, node
            yield from _walk(value, path + (key, ))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, path + (i, ))


def _dotted(path: Sequence) -> str:
    out = ''
    for p in path:
        out += f'[{p}]' if isinstance(p, int) else (f'.{p}' if out else p)
    return out


def find_num_classes(cfg) -> List[str]:
    """Dotted paths of every ``num_classes`` under ``cfg.model``.

    Args:
        cfg (Config | dict): A config.

    Returns:
        list[str]: e.g. ``['model.bbox_head.head_module.num_classes',
        'model.train_cfg.assigner.num_classes']``.
    """
    model = cfg['model'] if 'model' in cfg else {}
    return [
        _dotted(('model', ) + path) for path, key, _ in _walk(model)
        if key == 'num_classes'
    ]


def _set_num_classes(node: Any, num_classes: int) -> None:
    for _, key, container in list(_walk(node)):
        if key == 'num_classes':
            container[key] = num_classes


def _scale_sizes(node: Any, old: int, new: int, path: Tuple = (),
                 changed: Optional[List[str]] = None) -> Any:
    """``node`` with every size derived from ``old`` scaled to ``new``: an
    int under a key of ``_SIZE_KEYS`` that is ``old`` times one of
    ``_SIZE_RATIOS`` (the relations the recipes use: the input, twice it
    for RandomResize, minus half for an affine border, the TTA scales)."""

    def scale(value):
        if isinstance(value, bool) or not isinstance(value, int):
            return value
        if value * 2 not in [int(r * 2 * old) for r in _SIZE_RATIOS]:
            return value
        return value * new // old

    if isinstance(node, dict):
        for key, value in node.items():
            if key in _SIZE_KEYS:
                if isinstance(value, (list, tuple)) and all(
                        isinstance(v, int) for v in value):
                    new_value = type(value)(scale(v) for v in value)
                else:
                    new_value = scale(value)
                if new_value != value:
                    node[key] = new_value
                    changed.append(_dotted(path + (key, )))
                    continue
            node[key] = _scale_sizes(value, old, new, path + (key, ),
                                     changed)
        return node
    if isinstance(node, list):
        return [_scale_sizes(v, old, new, path + (i, ), changed)
                for i, v in enumerate(node)]
    if isinstance(node, tuple):
        return tuple(_scale_sizes(v, old, new, path + (i, ), changed)
                     for i, v in enumerate(node))
    return node


def _inner_dataset(loader: dict, name: str) -> dict:
    """The dataset dict of a dataloader that holds ``ann_file`` (through
    wrappers such as ``RepeatDataset``)."""
    dataset = loader.get('dataset')
    while isinstance(dataset, dict) and 'ann_file' not in dataset \
            and isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    if not isinstance(dataset, dict) or 'ann_file' not in dataset:
        raise ValueError(
            f'{name}.dataset is not a COCO-style dataset with an ann_file '
            '(a ConcatDataset or another dataset type?); this tool writes '
            'configs for one COCO-format dataset per split')
    return dataset


# ------------------------------------------------------------ the file
def _diff(old: Any, new: Any) -> Any:
    """The override that turns ``old`` into ``new`` under MMEngine's merge
    rules (dicts merge key by key, anything else is replaced); ``_NO`` when
    nothing changed."""
    if isinstance(old, dict) and isinstance(new, dict):
        if old.get('type') != new.get('type') or set(old) - set(new):
            return dict(new, _delete_=True)
        out = {}
        for key, value in new.items():
            if key not in old:
                out[key] = value
                continue
            sub = _diff(old[key], value)
            if sub is not _NO:
                out[key] = sub
        return out or _NO
    return _NO if (old == new and type(old) is type(new)) else new


_NO = object()


def _format(value: Any, key: Optional[str] = None,
            top: Optional[Dict[str, Any]] = None) -> str:
    """Python source for ``value``; a value equal to an emitted top-level
    variable (a list, dict, tuple or string; a number under its own key)
    is written as that variable's name, a path under ``data_root`` as
    ``data_root + name``."""
    top = top or {}
    if key is not None and key in top and top[key] == value and \
            type(top[key]) is type(value):
        return key
    if isinstance(value, (list, tuple, dict, str)) and value:
        for name, top_value in top.items():
            if top_value == value and type(top_value) is type(value) and \
                    name != key:
                return name
    root = top.get('data_root')
    if isinstance(value, str) and root and value.startswith(root):
        for name, top_value in top.items():
            if isinstance(top_value, str) and value == root + top_value:
                return f'data_root + {name}'
    if isinstance(value, dict):
        if all(isinstance(k, str) and k.isidentifier() for k in value):
            items = ', '.join(f'{k}={_format(v, k, top)}'
                              for k, v in value.items())
            return f'dict({items})'
        items = ', '.join(f'{k!r}: {_format(v, None, top)}'
                          for k, v in value.items())
        return '{' + items + '}'
    if isinstance(value, list):
        return '[' + ', '.join(_format(v, None, top)
                               for v in value) + ']'
    if isinstance(value, tuple):
        inner = ', '.join(_format(v, None, top) for v in value)
        return f'({inner},)' if len(value) == 1 else f'({inner})'
    return repr(value)


def _yapf(text: str) -> str:
    try:
        from yapf.yapflib.yapf_api import FormatCode
    except ImportError:  # yapf comes with mmengine; plain text otherwise
        return text
    style = dict(based_on_style='pep8', blank_line_before_nested_class_or_def
                 =True, split_before_expression_after_opening_paren=True)
    out = FormatCode(text, style_config=style)
    return out[0] if isinstance(out, tuple) else out


def _base_path(config: str, out_file: str) -> str:
    """``_base_`` of the written file: ``mmyolo::...`` as given, a file
    relative to the written one."""
    if '::' in config:
        return config
    return osp.relpath(
        osp.abspath(resolve_config_path(config)),
        osp.dirname(osp.abspath(out_file)))


# ------------------------------------------------------------- the API
def make_custom_config(config: str,
                       data_root: str,
                       out_file: str,
                       train_ann: str = 'annotations/instances_train.json',
                       train_img: str = 'train/',
                       val_ann: str = 'annotations/instances_val.json',
                       val_img: str = 'val/',
                       test_ann: Optional[str] = None,
                       test_img: Optional[str] = None,
                       load_from: Optional[str] = None,
                       epochs: Optional[int] = None,
                       batch_size: Optional[int] = None,
                       img_size: Optional[int] = None,
                       command: Optional[str] = None) -> CustomConfig:
    """Check a COCO-format dataset and write a config training on it.

    Args:
        config (str): The model config: a path, or ``mmyolo::path``.
        data_root (str): Directory of the dataset.
        out_file (str): Where the config will be written (``_base_`` is
            made relative to it); this function does not write it.
        train_ann (str): Train annotation file, relative to ``data_root``.
            Defaults to ``'annotations/instances_train.json'``.
        train_img (str): Train image directory, relative to ``data_root``.
            Defaults to ``'train/'``.
        val_ann (str): Val annotation file. Defaults to
            ``'annotations/instances_val.json'``.
        val_img (str): Val image directory. Defaults to ``'val/'``.
        test_ann (str, optional): Test annotation file; None: the val
            split. Defaults to None.
        test_img (str, optional): Test image directory; None: the val one
            (or ``val_img`` when only ``test_ann`` is given). Defaults to
            None.
        load_from (str, optional): Checkpoint to start from (layers whose
            shapes differ, such as the classification convs of another
            number of classes, keep their initialisation). Defaults to None.
        epochs (int, optional): Training epochs; None keeps the recipe's,
            or :data:`FINETUNE_EPOCHS` (at most the recipe's) with
            ``load_from``. Defaults to None.
        batch_size (int, optional): Train batch size per GPU; None keeps
            the recipe's. Defaults to None.
        img_size (int, optional): Square input size (a multiple of 32);
            None keeps the recipe's. Defaults to None.
        command (str, optional): The command line, recorded in the file's
            header. Defaults to None.

    Returns:
        CustomConfig: The text, the complete config and notes.

    Raises:
        FileNotFoundError: The config, an annotation file, an image or
            ``load_from`` is missing.
        ValueError: The data or an argument cannot make a correct
            training (the message says what to fix).
    """
    from ..engine import rescale_schedule
    for name, value in (('epochs', epochs), ('batch_size', batch_size),
                        ('img_size', img_size)):
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, int) or value < 1):
            raise ValueError(f'{name} must be an int >= 1, got {value!r}')
    if img_size is not None and img_size % 32:
        raise ValueError(f'img_size must be a multiple of 32 (the largest '
                         f'stride of the detectors), got {img_size}')
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'data root {data_root} is not a directory')
    if load_from is not None and '://' not in load_from and \
            not osp.isfile(load_from):
        raise FileNotFoundError(
            f'checkpoint {load_from} (--load-from) does not exist; give '
            'the path of a .pth file, e.g. a best_*.pth of a training run')

    # ----------------------------------------------------------- data
    if test_ann is None:
        test_ann, test_img = val_ann, test_img or val_img
    elif test_img is None:
        test_img = val_img
    splits = dict(train=(train_ann, train_img), val=(val_ann, val_img),
                  test=(test_ann, test_img))
    infos = {}
    for split, (ann, img) in splits.items():
        if split == 'test' and (ann, img) == (val_ann, val_img):
            infos[split] = infos['val']
            continue
        infos[split] = check_coco_split(
            osp.join(data_root, ann), osp.join(data_root, img), split)
    cats = infos['train']['categories']
    for split in ('val', 'test'):
        if infos[split]['categories'] != cats:
            raise ValueError(
                f'the categories of {osp.join(data_root, splits[split][0])} '
                f'{infos[split]["categories"]} differ from those of '
                f'{osp.join(data_root, train_ann)} {cats}; mmdet numbers '
                'the labels of each file by its own categories list, so the '
                'files must list the same (id, name) pairs in the same '
                'order')
    classes = tuple(name for _, name in cats)
    notes = [f'{len(classes)} classes from {train_ann}: ' + ', '.join(
        f'label {i} = id {cid} "{name}"' for i, (cid, name) in
        enumerate(cats))]
    ids = [cid for cid, _ in cats]
    if ids != list(range(ids[0], ids[0] + len(ids))):
        notes.append(
            f'category ids {ids} are not contiguous: mmdet maps them to '
            'labels 0..{} in the order of the file\'s categories list, as '
            'above; training and COCO evaluation are unaffected'.format(
                len(ids) - 1))
    elif ids != sorted(ids):
        notes.append(f'the categories are listed out of id order ({ids}); '
                     'labels follow the listed order, as above')
    unseen = [name for cid, name in cats
              if infos['train']['per_category'][cid] == 0]
    if unseen:
        notes.append(f'warning: no train annotation of {unseen}: the '
                     'model cannot learn them')
    notes.append(
        f"train: {infos['train']['num_images']} images "
        f"({infos['train']['images_with_boxes']} with boxes), "
        f"{infos['train']['num_annotations']} boxes; val: "
        f"{infos['val']['num_images']} images, "
        f"{infos['val']['num_annotations']} boxes")

    # --------------------------------------------------------- config
    base_path = _base_path(config, out_file)
    # the model config as the written file will see it (a ``mmyolo::``
    # base gains ``_scope_`` keys that a direct load does not)
    base = _load_text(f'_base_ = {base_path!r}\n', out_file)
    cfg = copy.deepcopy(base)
    data_root = data_root.rstrip('/') + '/'
    knobs = {}  # top-level variables of the written file, in order
    knobs['data_root'] = data_root
    knobs['class_name'] = classes
    knobs['num_classes'] = len(classes)
    metainfo = dict(classes=classes)
    knobs['metainfo'] = metainfo
    for split, (ann, img) in splits.items():
        knobs[f'{split}_ann_file'] = ann
        knobs[f'{split}_data_prefix'] = img
    for split in ('train', 'val', 'test'):
        loader_name = f'{split}_dataloader'
        loader = cfg.get(loader_name)
        if not loader:
            continue
        dataset = _inner_dataset(loader, loader_name)
        ann, img = splits[split]
        dataset.data_root = data_root
        dataset.ann_file = ann
        dataset.data_prefix = dict(dataset.get('data_prefix') or {}, img=img)
        dataset.metainfo = copy.deepcopy(metainfo)
        evaluator = cfg.get(f'{split}_evaluator')
        if split != 'train' and evaluator:
            if not isinstance(evaluator, dict) or 'ann_file' not in \
                    evaluator:
                raise ValueError(
                    f'{split}_evaluator is not one CocoMetric with an '
                    'ann_file; this tool writes configs for it')
            evaluator.ann_file = data_root + ann
    num_classes_paths = find_num_classes(cfg)
    if not num_classes_paths:
        raise ValueError(f'{config}: no num_classes under model; is it a '
                         'detector config?')
    _set_num_classes(cfg.model, len(classes))
    notes.append(f'num_classes = {len(classes)} at ' +
                 ', '.join(num_classes_paths))

    if batch_size is not None:
        cfg.train_dataloader.batch_size = batch_size
        optimizer = cfg.get('optim_wrapper', {}).get('optimizer', {})
        if 'batch_size_per_gpu' in optimizer:
            optimizer.batch_size_per_gpu = batch_size
        if 'train_batch_size_per_gpu' in cfg:
            knobs['train_batch_size_per_gpu'] = batch_size
    batch = cfg.train_dataloader.batch_size
    auto = cfg.get('auto_scale_lr') or {}
    lr = cfg.get('optim_wrapper', {}).get('optimizer', {}).get('lr')
    if auto.get('enable') and lr is not None:
        notes.append(
            f"lr: optimizer.lr {lr:g} is the rate of "
            f"{auto['base_batch_size']} images (auto_scale_lr); the runner "
            f"scales it to {lr * batch / auto['base_batch_size']:.3g} for "
            f"{batch} images on one GPU (x the number of GPUs)")
    elif lr is not None:
        notes.append(f'lr: optimizer.lr {lr:g} as the recipe sets it '
                     '(auto_scale_lr is not enabled in it)')

    if img_size is not None:
        scale = cfg.get('img_scale')
        if not (isinstance(scale, (list, tuple)) and len(scale) == 2
                and scale[0] == scale[1]):
            raise ValueError(f'--img-size needs a config with a square '
                             f'img_scale; {config} has {scale!r}')
        changed: List[str] = []
        cfg_dict = _scale_sizes(cfg.to_dict(), scale[0], img_size,
                                changed=changed)
        cfg = Config(cfg_dict)
        roots = sorted({c.split('.')[0].split('[')[0] for c in changed})
        notes.append(f'input {scale[0]} -> {img_size}: {len(changed)} sizes '
                     f'derived from img_scale, in {", ".join(roots)}')

    old_epochs = cfg.train_cfg.get('max_epochs')
    if epochs is None and load_from is not None and old_epochs:
        epochs = min(FINETUNE_EPOCHS, old_epochs)
    iters_per_epoch = math.ceil(
        infos['train']['images_with_boxes'] / batch)
    if epochs is not None and epochs != old_epochs:
        warmup = _warmup_iters(cfg)
        warmup_iters = None
        if warmup is not None and warmup > iters_per_epoch:
            warmup_iters = iters_per_epoch
        cfg = rescale_schedule(cfg, epochs, warmup_iters=warmup_iters)
        notes.append(_schedule_note(cfg, old_epochs, warmup, warmup_iters))
    else:
        warmup = _warmup_iters(cfg)
        if warmup is not None and warmup > iters_per_epoch and old_epochs:
            cfg = rescale_schedule(cfg, old_epochs,
                                   warmup_iters=iters_per_epoch)
            notes.append(f'warm-up {warmup} -> {iters_per_epoch} '
                         'iterations (one epoch of this data)')
    if cfg.train_cfg.get('max_epochs') is not None:
        knobs['max_epochs'] = cfg.train_cfg.max_epochs
    if load_from is not None:
        cfg.load_from = load_from
        knobs['load_from'] = load_from
    if 'img_scale' in cfg:
        knobs['img_scale'] = cfg.img_scale
    cfg.custom_imports = copy.deepcopy(_CUSTOM_IMPORTS)
    for key, value in knobs.items():
        cfg[key] = value

    text = _render(base, cfg, knobs, base_path, notes, command)
    _check_round_trip(text, cfg, out_file)
    return CustomConfig(text=text, cfg=cfg, notes=notes, classes=classes)


def _warmup_iters(cfg: Config) -> Optional[int]:
    for s in cfg.get('param_scheduler') or []:
        if str(s.get('type', '')).endswith('LinearLR') and \
                not s.get('by_epoch', True):
            return s.get('end', 0) - s.get('begin', 0)
    return None


def _schedule_note(cfg: Config, old: int, warmup: Optional[int],
                   warmup_iters: Optional[int]) -> str:
    parts = [f'{old} -> {cfg.train_cfg.max_epochs} epochs '
             '(mmyoloms.engine.rescale_schedule)']
    for s in cfg.get('param_scheduler') or []:
        kind = str(s.get('type', ''))
        if s.get('by_epoch', True):
            parts.append(f"{kind} epochs {s.get('begin')}-{s.get('end')}")
    if warmup_iters is not None:
        parts.append(f'warm-up {warmup} -> {warmup_iters} iterations (one '
                     'epoch of this data)')
    for h in cfg.get('custom_hooks') or []:
        if str(h.get('type', '')).endswith('PipelineSwitchHook'):
            parts.append(f"stage 2 from epoch {h['switch_epoch']}")
    hook = cfg.get('default_hooks', {}).get('param_scheduler', {})
    if str(hook.get('type', '')).endswith('YOLOv5ParamSchedulerHook'):
        parts.append(f"YOLOv5ParamSchedulerHook max_epochs "
                     f"{hook.get('max_epochs')}")
    parts.append(f"validation every {cfg.train_cfg.get('val_interval')}")
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint', {})
    parts.append(f"checkpoint every {checkpoint.get('interval')}")
    return ', '.join(parts)


def _render(base: Config, cfg: Config, knobs: Dict[str, Any], base_path: str,
            notes: List[str], command: Optional[str]) -> str:
    old, new = base.to_dict(), cfg.to_dict()
    lines = ['# Written by tools/make_custom_config.py (mmyoloms.apis.'
             'custom_data);', '# edit freely.']
    if command:
        lines += textwrap.wrap(command, 77, initial_indent='#   ',
                               subsequent_indent='#     ',
                               break_on_hyphens=False)
    for note in notes:
        lines += textwrap.wrap(note, 77, initial_indent='# - ',
                               subsequent_indent='#   ')
    body = [f'_base_ = {base_path!r}', '',
            f'custom_imports = {_format(_CUSTOM_IMPORTS)}', '',
            '# ' + '=' * 20 + ' data, classes and schedule ' + '=' * 20]
    top: Dict[str, Any] = {}
    for key in knobs:
        value = new[key]
        if isinstance(old.get(key), dict) and isinstance(value, dict) \
                and set(old[key]) - set(value):
            value = dict(value, _delete_=True)  # a whole new dict
        body.append(f'{key} = {_format(value, None, top)}')
        top[key] = new[key]
    body += ['', '# ' + '=' * 20 + ' what changed in the model config ' +
             '=' * 14]
    for key, value in new.items():
        if key in knobs or key in ('custom_imports', '_base_'):
            continue
        change = _diff(old[key], value) if key in old else value
        if change is _NO:
            continue
        body.append(f'{key} = {_format(change, key, top)}')
        if not isinstance(change, dict):  # written whole: referable
            top[key] = value
    text = '\n'.join(lines) + '\n' + _yapf('\n'.join(body) + '\n')
    return text


def _plain(cfg: Config) -> dict:
    d = cfg.to_dict()
    d.pop('custom_imports', None)
    return d


def _load_text(text: str, out_file: str) -> Config:
    """Load config ``text`` from a file beside ``out_file`` (so that a
    relative ``_base_`` resolves as it will there)."""
    import tempfile
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    with tempfile.NamedTemporaryFile(
            'w', suffix='.py', prefix='.tmp_', dir=folder,
            delete=False) as f:
        f.write(text)
    try:
        return Config.fromfile(f.name)
    finally:
        os.remove(f.name)


def _check_round_trip(text: str, cfg: Config, out_file: str) -> None:
    """The written text must give exactly ``cfg``."""
    if _plain(_load_text(text, out_file)) != _plain(cfg):
        raise RuntimeError(
            'the written config does not give the intended one (a bug of '
            'mmyoloms.apis.custom_data); please report it with the command')
