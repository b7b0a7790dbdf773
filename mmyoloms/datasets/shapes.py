"""A synthetic, multi-scale COCO-format detection dataset ("shapes").

Every image is drawn from its own random generator seeded with
``(seed, split, index)``, so a dataset is a pure function of its arguments:
the same call writes byte-identical annotation files and pixel-identical
images, and any image can be re-drawn on its own.

One image::

    textured background (smooth colour field + stripes + grain)
      + clutter (thin lines, arcs, dots: never one of the classes)
      + 1..max_objects shapes, each with its own colour, rotation,
        aspect ratio and size bucket (small / medium / large in COCO's
        terms), drawn in order so that later shapes partially occlude
        earlier ones (every shape keeps at least ``min_visible`` of its
        pixels visible)

The classes and the background style are arguments: the default is the
demo's five classes on textured backgrounds; ``TRANSFER_CLASSES`` on
``background='tiles'`` (flat colour tiles instead of colour fields and
stripes) is a second, different 3-class task made by the same code, for
fine-tuning experiments (``configs/sweeps/shapes_transfer.py``).

Annotations follow COCO: ``bbox`` is the tight ``[x, y, w, h]`` box of the
shape's *visible* pixels and ``area`` is their count (COCO's segmentation
area), which is what decides a box's small/medium/large bucket in COCO
evaluation.
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

SHAPES_CLASSES = ('ellipse', 'triangle', 'rectangle', 'star', 'cross')
# One colour per class for drawing predictions (RGB), not the object colours.
SHAPES_PALETTE = [(220, 20, 60), (0, 130, 200), (60, 180, 75),
                  (245, 130, 48), (145, 30, 180)]
SHAPES_METAINFO = dict(classes=SHAPES_CLASSES, palette=SHAPES_PALETTE)
# Classes of the transfer variant: none of them is a class of the demo.
TRANSFER_CLASSES = ('hexagon', 'arrow', 'crescent')
# Every shape the generator draws, and the background styles.
SHAPE_NAMES = SHAPES_CLASSES + TRANSFER_CLASSES
BACKGROUNDS = ('textured', 'tiles')

# Side of the shape's un-rotated square frame, in pixels, per size bucket.
# COCO buckets are by visible area: small < 32**2 <= medium < 96**2 <= large
# (a star fills about a third of its frame, an ellipse three quarters).
# Below about 14 px the five outlines are no longer told apart.
_SIZE_BUCKETS = {
    'small': (14, 32),
    'medium': (40, 100),
    'large': (140, 300),
}
_SPLITS = {'train': 0, 'val': 1}
# Bumped whenever the drawing changes, so that an old dataset on disk is
# not mistaken for the current one.
GENERATOR_VERSION = 3


def _unit_polygon(name: str, rng: np.random.Generator) -> np.ndarray:
    """Vertices of a shape in the unit square ``[-1, 1]^2``, shape (N, 2)."""
    if name == 'ellipse':
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], axis=1)
    if name == 'triangle':
        # an isosceles triangle with a random apex angle
        half_base = rng.uniform(0.6, 1.0)
        return np.array([[0., -1.], [half_base, 1.], [-half_base, 1.]])
    if name == 'rectangle':
        return np.array([[-1., -1.], [1., -1.], [1., 1.], [-1., 1.]])
    if name == 'star':
        inner = rng.uniform(0.38, 0.5)
        t = np.arange(10) * np.pi / 5 - np.pi / 2
        r = np.where(np.arange(10) % 2 == 0, 1.0, inner)
        return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    if name == 'cross':
        a = rng.uniform(0.25, 0.4)  # half width of an arm
        return np.array([[-a, -1], [a, -1], [a, -a], [1, -a], [1, a], [a, a],
                         [a, 1], [-a, 1], [-a, a], [-1, a], [-1, -a],
                         [-a, -a]])
    if name == 'hexagon':
        t = np.arange(6) * np.pi / 3
        return np.stack([np.cos(t), np.sin(t)], axis=1)
    if name == 'arrow':
        shaft = rng.uniform(0.2, 0.35)  # half width of the shaft
        head = rng.uniform(-0.2, 0.2)  # where the head starts
        return np.array([[-1., -shaft], [head, -shaft], [head, -1.], [1., 0.],
                         [head, 1.], [head, shaft], [-1., shaft]])
    if name == 'crescent':
        # the unit disc minus a disc of radius r centred at (c, 0)
        c, r = rng.uniform(0.4, 0.6), 0.85
        x0 = (1 + c * c - r * r) / (2 * c)  # where the two circles cross
        y0 = math.sqrt(1 - x0 * x0)
        outer = np.linspace(math.atan2(y0, x0), 2 * np.pi - math.atan2(
            y0, x0), 32)
        inner_start = math.atan2(y0, x0 - c)
        inner = np.linspace(2 * np.pi - inner_start, inner_start, 24)
        return np.concatenate([
            np.stack([np.cos(outer), np.sin(outer)], axis=1),
            np.stack([c + r * np.cos(inner), r * np.sin(inner)], axis=1)
        ])
    raise ValueError(f'unknown shape class {name!r}, expected one of '
                     f'{SHAPE_NAMES}')


def _tiles_background(rng: np.random.Generator, height: int,
                      width: int) -> np.ndarray:
    """A BGR background of flat colour tiles with grain and straight
    strokes, uint8 (H, W, 3)."""
    colours = rng.uniform(40, 220, size=(int(rng.integers(2, 5)), 3))
    tile = int(rng.integers(12, 48))
    rows, cols = height // tile + 2, width // tile + 2
    grid = colours[rng.integers(len(colours), size=(rows, cols))]
    img = np.repeat(np.repeat(grid, tile, axis=0), tile, axis=1)
    dy, dx = (int(v) for v in rng.integers(0, tile, size=2))
    img = img[dy:dy + height, dx:dx + width].astype(np.float32)
    img += rng.normal(0, rng.uniform(3, 10), size=img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(5, 25))):
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        pts = rng.uniform([0, 0], [width, height], size=(2, 2))
        cv2.line(img, tuple(int(v) for v in pts[0]),
                 tuple(int(v) for v in pts[1]), color,
                 int(rng.integers(1, 3)), cv2.LINE_AA)
    return img


def _background(rng: np.random.Generator, height: int,
                width: int) -> np.ndarray:
    """A cluttered, textured BGR background, uint8 (H, W, 3)."""
    # smooth colour field: a coarse random grid upsampled bicubically
    gh, gw = rng.integers(2, 6, size=2)
    grid = rng.uniform(50, 210, size=(gh, gw, 3)).astype(np.float32)
    img = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    # stripes at a random angle, frequency and strength
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    theta = rng.uniform(0, np.pi)
    period = rng.uniform(6, 40)
    stripes = np.sin((xx * np.cos(theta) + yy * np.sin(theta)) * 2 * np.pi /
                     period)
    img += stripes[..., None] * rng.uniform(0, 20)
    # grain
    img += rng.normal(0, rng.uniform(3, 10), size=img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)

    # clutter: thin strokes that are none of the classes
    for _ in range(int(rng.integers(5, 25))):
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        kind = rng.integers(3)
        if kind == 0:
            pts = rng.uniform([0, 0], [width, height], size=(2, 2))
            cv2.line(img, tuple(int(v) for v in pts[0]),
                     tuple(int(v) for v in pts[1]), color,
                     int(rng.integers(1, 3)), cv2.LINE_AA)
        elif kind == 1:
            center = tuple(int(v) for v in rng.uniform([0, 0],
                                                       [width, height]))
            axes = tuple(int(v) for v in rng.uniform(5, 60, size=2))
            start = float(rng.uniform(0, 360))
            cv2.ellipse(img, center, axes, float(rng.uniform(0, 180)), start,
                        start + float(rng.uniform(30, 200)), color, 1,
                        cv2.LINE_AA)
        else:
            for _ in range(int(rng.integers(3, 12))):
                center = tuple(
                    int(v) for v in rng.uniform([0, 0], [width, height]))
                cv2.circle(img, center, int(rng.integers(1, 3)), color, -1)
    return img


def _contrasting_colour(rng: np.random.Generator,
                        background: np.ndarray) -> np.ndarray:
    """A saturated BGR colour far enough from the mean of ``background``."""
    mean = background.reshape(-1, 3).mean(axis=0)
    for _ in range(20):
        hsv = np.array([[[rng.integers(0, 180), rng.integers(90, 256),
                          rng.integers(80, 256)]]], dtype=np.uint8)
        bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)
        if np.linalg.norm(bgr - mean) > 90:
            break
    return bgr


def _draw_image(rng: np.random.Generator, height: int, width: int,
                max_objects: int, min_visible: float,
                size_probs: Sequence[float],
                classes: Sequence[str] = SHAPES_CLASSES,
                background: str = 'textured'
                ) -> Tuple[np.ndarray, List[dict]]:
    """Draw one image; return it (BGR uint8) and its objects' visible masks."""
    draw_background = (_tiles_background if background == 'tiles' else
                       _background)
    img = draw_background(rng, height, width).astype(np.float32)
    # instance map: index of the shape owning each pixel, -1 for background
    owner = np.full((height, width), -1, dtype=np.int32)
    full_areas: List[int] = []
    labels: List[int] = []
    buckets = list(_SIZE_BUCKETS)
    num_objects = int(rng.integers(1, max_objects + 1))
    # larger shapes first, so that smaller ones land on top of them
    drawn_buckets = sorted(
        rng.choice(len(buckets), size=num_objects, p=size_probs),
        reverse=True)
    for bucket_index in drawn_buckets:
        label = int(rng.integers(len(classes)))
        bucket = buckets[bucket_index]
        low, high = _SIZE_BUCKETS[bucket]
        # in images too small for the bucket, the largest shapes that fit
        high = min(high, int(0.9 * min(height, width)))
        low = min(low, high // 2)
        for _attempt in range(10):
            side = math.exp(rng.uniform(math.log(low), math.log(high)))
            aspect = math.exp(rng.uniform(math.log(0.5), math.log(2.0)))
            sx, sy = side / 2 * math.sqrt(aspect), side / 2 / math.sqrt(aspect)
            angle = rng.uniform(0, 2 * np.pi)
            rot = np.array([[math.cos(angle), -math.sin(angle)],
                            [math.sin(angle), math.cos(angle)]])
            poly = (_unit_polygon(classes[label], rng) *
                    [sx, sy]) @ rot.T
            lo, hi = poly.min(axis=0), poly.max(axis=0)
            if hi[0] - lo[0] >= width - 2 or hi[1] - lo[1] >= height - 2:
                continue
            offset = rng.uniform(-lo + 1, [width - 1, height - 1] - hi)
            mask = np.zeros((height, width), dtype=np.uint8)
            cv2.fillPoly(mask, [np.round((poly + offset) * 16).astype(
                np.int32)], 1, cv2.LINE_8, shift=4)
            mask = mask.astype(bool)
            area = int(mask.sum())
            if area < 16:
                continue
            # the new shape must leave every earlier one visible enough
            covered = np.bincount(owner[mask] + 1,
                                  minlength=len(full_areas) + 1)[1:]
            visible = np.bincount(owner.ravel() + 1,
                                  minlength=len(full_areas) + 1)[1:]
            if any(visible[i] - covered[i] < min_visible * full_areas[i]
                   for i in range(len(full_areas))):
                continue
            break
        else:
            continue  # no placement found: skip this shape

        colour = _contrasting_colour(rng, img[mask])
        # shading: a linear gradient across the shape plus grain
        yy, xx = np.nonzero(mask)
        direction = rng.normal(size=2)
        direction /= np.linalg.norm(direction) + 1e-6
        ramp = (xx * direction[0] + yy * direction[1])
        ramp = (ramp - ramp.mean()) / (np.ptp(ramp) + 1e-6)
        shade = 1 + rng.uniform(0, 0.5) * ramp
        pixels = colour[None] * shade[:, None] + rng.normal(
            0, 6, size=(len(xx), 3))
        img[yy, xx] = pixels
        owner[mask] = len(full_areas)
        full_areas.append(area)
        labels.append(label)

    objects = []
    for i, label in enumerate(labels):
        ys, xs = np.nonzero(owner == i)
        x0, y0 = int(xs.min()), int(ys.min())
        objects.append(
            dict(
                label=label,
                bbox=[x0, y0,
                      int(xs.max()) + 1 - x0,
                      int(ys.max()) + 1 - y0],
                area=int(len(xs))))
    return np.clip(img, 0, 255).astype(np.uint8), objects


def generate_shapes_dataset(out_dir: str,
                            num_train: int = 1000,
                            num_val: int = 200,
                            seed: int = 0,
                            img_size_range: Tuple[int, int] = (192, 320),
                            max_objects: int = 10,
                            min_visible: float = 0.6,
                            size_probs: Sequence[float] = (0.35, 0.35, 0.3),
                            classes: Sequence[str] = SHAPES_CLASSES,
                            background: str = 'textured',
                            reuse_existing: bool = False,
                            progress: bool = True) -> Dict[str, str]:
    """Write the shapes dataset in COCO format and check it with pycocotools.

    Layout under ``out_dir``::

        annotations/instances_train.json   annotations/instances_val.json
        train/000000.jpg ...               val/000000.jpg ...

    Args:
        out_dir (str): Output directory (created if needed).
        num_train (int): Number of training images. Defaults to 1000.
        num_val (int): Number of validation images. Defaults to 200.
        seed (int): Seed; image ``i`` of a split is drawn from
            ``numpy.random.default_rng([seed, split, i])``. Defaults to 0.
        img_size_range (tuple[int, int]): Inclusive range of image widths
            and heights (drawn independently). Defaults to (192, 320).
        max_objects (int): At most this many shapes per image (at least
            one is attempted). Defaults to 10.
        min_visible (float): Every shape keeps at least this fraction of its
            pixels visible under the shapes drawn over it. Defaults to 0.6.
        size_probs (Sequence[float]): Probabilities of the small, medium and
            large size buckets. Defaults to (0.35, 0.35, 0.3).
        classes (Sequence[str]): The classes, in category-id order (ids
            from 1), each a name of ``SHAPE_NAMES``. Defaults to
            ``SHAPES_CLASSES``; ``TRANSFER_CLASSES`` is the second task.
        background (str): ``'textured'`` (colour fields, stripes, strokes,
            arcs and dots) or ``'tiles'`` (flat colour tiles and straight
            strokes). Defaults to ``'textured'``.
        reuse_existing (bool): If ``out_dir`` already holds a complete
            dataset written by this generator version with the same
            arguments, keep it and return at once. Defaults to False.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict[str, str]: Paths of the ``'train'`` and ``'val'`` annotation
        files.

    Example:
        >>> from mmyoloms.datasets import generate_shapes_dataset
        >>> files = generate_shapes_dataset('/tmp/shapes', 8, 4,
        ...                                 progress=False)
        >>> sorted(files)
        ['train', 'val']
    """
    for name, value in (('num_train', num_train), ('num_val', num_val)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f'{name} must be a positive int, got {value!r}')
    low, high = img_size_range
    if not 32 <= low <= high:
        raise ValueError('img_size_range must be (low, high) with '
                         f'32 <= low <= high, got {img_size_range}')
    if not isinstance(max_objects, int) or max_objects < 1:
        raise ValueError(
            f'max_objects must be a positive int, got {max_objects!r}')
    if not 0 < min_visible <= 1:
        raise ValueError(f'min_visible must be in (0, 1], got {min_visible}')
    classes = tuple(classes)
    unknown = [c for c in classes if c not in SHAPE_NAMES]
    if not classes or unknown or len(set(classes)) != len(classes):
        raise ValueError(f'classes must be distinct names of {SHAPE_NAMES}, '
                         f'got {classes}')
    if background not in BACKGROUNDS:
        raise ValueError(f'background must be one of {BACKGROUNDS}, got '
                         f'{background!r}')
    size_probs = np.asarray(size_probs, dtype=np.float64)
    if (size_probs.shape != (3, ) or (size_probs < 0).any()
            or not math.isclose(size_probs.sum(), 1.0, abs_tol=1e-6)):
        raise ValueError('size_probs must be 3 non-negative probabilities '
                         '(small, medium, large) summing to 1, got '
                         f'{tuple(size_probs)}')

    generator_args = dict(
        version=GENERATOR_VERSION, num_train=num_train, num_val=num_val,
        seed=seed, img_size_range=[low, high], max_objects=max_objects,
        min_visible=min_visible, size_probs=[float(p) for p in size_probs])
    # recorded only where they differ from the demo's, so that datasets
    # written before these arguments existed still count as complete
    if classes != SHAPES_CLASSES:
        generator_args['classes'] = list(classes)
    if background != 'textured':
        generator_args['background'] = background
    ann_files = {
        split: osp.join(out_dir, 'annotations', f'instances_{split}.json')
        for split in _SPLITS
    }
    if reuse_existing and _is_complete(out_dir, ann_files, generator_args):
        return ann_files

    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(num_train + num_val)

    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(classes)
    ]
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    for split, num in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        images, annotations = [], []
        for index in range(num):
            rng = np.random.default_rng([seed, _SPLITS[split], index])
            width, height = (int(v) for v in rng.integers(low, high + 1, 2))
            img, objects = _draw_image(rng, height, width, max_objects,
                                       min_visible, size_probs, classes,
                                       background)
            file_name = f'{index:06d}.jpg'
            ok, buf = cv2.imencode('.jpg', img,
                                   [cv2.IMWRITE_JPEG_QUALITY, 92])
            if not ok:
                raise RuntimeError(f'could not encode {split}/{file_name}')
            buf.tofile(osp.join(out_dir, split, file_name))
            image_id = index + 1
            images.append(
                dict(id=image_id, file_name=file_name, width=width,
                     height=height))
            for obj in objects:
                annotations.append(
                    dict(id=len(annotations) + 1, image_id=image_id,
                         category_id=obj['label'] + 1, bbox=obj['bbox'],
                         area=obj['area'], iscrowd=0))
            if bar is not None:
                bar.update()
        ann_file = ann_files[split]
        info = dict(
            description='mmyoloms synthetic multi-scale shapes',
            generator_args=generator_args)
        with open(ann_file, 'w', encoding='utf-8') as f:
            json.dump(
                dict(info=info, images=images, annotations=annotations,
                     categories=categories), f)
        _check_with_pycocotools(ann_file, len(images), len(annotations),
                                classes)
    if bar is not None:
        print()
    return ann_files


def _check_with_pycocotools(ann_file: str, num_images: int, num_anns: int,
                            classes: Sequence[str]) -> None:
    """Load ``ann_file`` with pycocotools and check what it indexed."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(ann_file)
    if len(coco.getImgIds()) != num_images or len(
            coco.getAnnIds()) != num_anns:
        raise RuntimeError(
            f'pycocotools indexed {len(coco.getImgIds())} images and '
            f'{len(coco.getAnnIds())} annotations in {ann_file}, expected '
            f'{num_images} and {num_anns}')
    if [c['name'] for c in coco.loadCats(coco.getCatIds())] != list(classes):
        raise RuntimeError(f'unexpected categories in {ann_file}')


def _is_complete(out_dir: str, ann_files: Dict[str, str],
                 generator_args: dict) -> bool:
    """Whether ``out_dir`` holds every file of a dataset written with
    exactly ``generator_args``."""
    for split, ann_file in ann_files.items():
        if not osp.isfile(ann_file):
            return False
        try:
            with open(ann_file, encoding='utf-8') as f:
                data = json.load(f)
        except ValueError:
            return False
        if data.get('info', {}).get('generator_args') != generator_args:
            return False
        if not all(
                osp.isfile(osp.join(out_dir, split, img['file_name']))
                for img in data['images']):
            return False
    return True
