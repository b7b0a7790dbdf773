"""The config's test-time preprocessing, shared by every backend."""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import Compose
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from torch import Tensor

ImageType = Union[str, np.ndarray]


def set_pipeline_scale(steps: Sequence[dict],
                       shape: Optional[Sequence[int]]) -> List[dict]:
    """A copy of pipeline ``steps`` in which every step with a ``scale``
    (resize, letterbox) targets ``shape = (H, W)``; None keeps them."""
    steps = copy.deepcopy(list(steps))
    if shape is not None:
        height, width = shape
        for step in steps:
            if 'scale' in step:
                step['scale'] = (width, height)
    return steps


def build_test_pipeline(cfg: Config,
                        shape: Optional[Sequence[int]] = None) -> Compose:
    """The config's test pipeline for single images.

    Annotation loading is dropped, images come from BGR arrays
    (``LoadImageFromNDArray``), and with ``shape`` every resize
    and letterbox step targets ``(H, W)`` instead of the config's scale.

    Args:
        cfg (Config): Full config.
        shape (Sequence[int], optional): ``(H, W)`` network input.
            Defaults to None (the config's scale).

    Returns:
        Compose: The pipeline; it takes ``dict(img=array)``.
    """
    steps = set_pipeline_scale(get_test_pipeline_cfg(cfg), shape)
    steps = [
        step for step in steps
        if not step['type'].split('.')[-1].startswith('LoadAnnotations')
    ]
    if not steps or 'LoadImage' not in steps[0]['type']:
        raise ValueError('the test pipeline must start with an image loading '
                         f'step, got {steps[:1]}')
    steps[0] = dict(type='mmdet.LoadImageFromNDArray')
    return Compose(steps)


def preprocess(pipeline: Compose, images: Sequence[ImageType],
               data_preprocessor) -> Tuple[Tensor, List]:
    """Run the pipeline and the model's data preprocessor on images
    (BGR arrays, or file paths read with :func:`mmcv.imread`).

    Returns:
        tuple: the batch ``(N, 3, H, W)`` tensor and the data samples
        (with ``ori_shape``, ``scale_factor``, ``pad_param`` ...).
    """
    items = []
    for image in images:
        if isinstance(image, str):
            image = mmcv.imread(image)  # FileNotFoundError if missing
        if isinstance(image, np.ndarray):
            items.append(pipeline(dict(img=image, img_id=0)))
        else:
            raise ValueError('images must be BGR np.ndarray or file paths, '
                             f'got {type(image).__name__}')
    data = data_preprocessor(pseudo_collate(items), False)
    return data['inputs'], data['data_samples']
