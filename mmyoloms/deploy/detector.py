"""What every runtime of an exported detector shares: the config's test
pipeline and data preprocessor before the graph, mapping the detections
back to the image after it."""
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmyoloms.utils import positive_int
from .end2end import OUTPUT_NAMES
from .export import INPUT_NAME
from .pipeline import ImageType, build_test_pipeline, preprocess
from .utils import load_config, register_scopes


def dataset_meta(cfg: Config) -> dict:
    """Class names (and palette) of the config's test dataset: its
    ``metainfo`` if set, else the dataset class's ``METAINFO``."""
    from mmyolo.registry import DATASETS
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset and 'metainfo' not in dataset:
        dataset = dataset.dataset  # dataset wrappers
    if dataset.get('metainfo'):
        return dict(dataset.metainfo)
    dataset_cls = DATASETS.get(dataset.type)
    if dataset_cls is None:
        raise ValueError(f'unknown dataset type {dataset.type!r} in the '
                         'config: cannot tell the class names')
    return dict(dataset_cls.METAINFO)


class DeployedDetector:
    """Base class of the runtimes that run a graph written by
    :func:`mmyoloms.deploy.export_onnx` (with NMS).

    Images go through the config's test pipeline and data preprocessor
    (exactly as for the PyTorch model), the runtime returns detections in
    network-input coordinates, and these are mapped back to the original
    image as mmyolo's ``predict_by_feat(rescale=True)`` does: remove the
    letterbox padding, divide by the resize factor, clip to the image.

    A subclass implements :meth:`load` (read the model, return its input
    and output signature) and :meth:`forward` (run it on a batch).

    Args:
        model_file (str): Exported model.
        config (str or Config): The config the model was exported from.
        shape (Sequence[int], optional): ``(H, W)`` input of a model
            exported with dynamic shapes. Static models take their own
            shape, and a different one is an error. Defaults to None (the
            config's scale).
        num_threads (int, optional): Inference threads of the runtime;
            None lets it choose (one per core). Defaults to None.
    """

    #: name of the runtime, for messages
    backend = ''

    def __init__(self,
                 model_file: str,
                 config: Union[str, Config],
                 shape: Optional[Sequence[int]] = None,
                 num_threads: Optional[int] = None) -> None:
        from mmyolo.registry import MODELS
        if not osp.isfile(model_file):
            raise FileNotFoundError(f'model file not found: {model_file}')
        if num_threads is not None:
            positive_int(num_threads, 'num_threads')
        self.num_threads = num_threads
        self.model_file = model_file
        self.cfg = load_config(config)
        register_scopes(self.cfg)
        input_names, input_shape, output_names = self.load(model_file)
        if list(input_names) != [INPUT_NAME] or list(output_names) != list(
                OUTPUT_NAMES):
            raise ValueError(
                f'{model_file} is not a detector exported with NMS: expected '
                f'input {INPUT_NAME!r} and outputs {list(OUTPUT_NAMES)}, got '
                f'{list(input_names)} and {list(output_names)}')
        static = [d for d in input_shape[2:] if isinstance(d, int)]
        if len(static) == 2:
            if shape is not None and tuple(shape) != tuple(static):
                raise ValueError(
                    f'{model_file} was exported for input (H, W) = '
                    f'{tuple(static)}, got shape={tuple(shape)}')
            shape = static
        self.batch = input_shape[0] if isinstance(input_shape[0],
                                                  int) else None
        self.shape = None if shape is None else tuple(shape)
        self.static_shape = tuple(static) if len(static) == 2 else None
        self.pipeline = build_test_pipeline(self.cfg, self.shape)
        self.data_preprocessor = MODELS.build(
            self.cfg.model.data_preprocessor)
        self.dataset_meta = dataset_meta(self.cfg)

    def load(self, model_file: str) -> Tuple[list, list, list]:
        """Read the model; return its input names, the input's shape
        (ints for static dimensions, anything else for dynamic ones) and
        its output names."""
        raise NotImplementedError

    def forward(self, inputs: np.ndarray) -> List[np.ndarray]:
        """Run the graph: ``num_dets, boxes, scores, labels``."""
        raise NotImplementedError

    def check_inputs(self, inputs: np.ndarray) -> None:
        """A batch the graph cannot take is an error that says why."""
        if inputs.ndim != 4 or inputs.shape[1] != 3:
            raise ValueError('inputs must be N x 3 x H x W, got '
                             f'{tuple(inputs.shape)}')
        if self.batch is not None and inputs.shape[0] != self.batch:
            raise ValueError(
                f'{self.model_file} takes batches of {self.batch} images, '
                f'got {inputs.shape[0]}')
        if (self.static_shape is not None
                and tuple(inputs.shape[2:]) != self.static_shape):
            raise ValueError(
                f'{self.model_file} was exported for input (H, W) = '
                f'{self.static_shape}, got {tuple(inputs.shape[2:])}: '
                'export it for this shape (tools/export_onnx.py --shape) '
                'or resize to it')

    def preprocess(self, images: Sequence[ImageType]):
        """Images to the network input batch and data samples."""
        if self.batch is not None and len(images) != self.batch:
            raise ValueError(f'the model takes batches of {self.batch} '
                             f'images, got {len(images)}')
        return preprocess(self.pipeline, images, self.data_preprocessor)

    def postprocess(self, outputs: List[np.ndarray],
                    data_samples: List[DetDataSample]) -> List[DetDataSample]:
        """Map detections back to the original images."""
        num_dets, boxes, scores, labels = outputs
        results = []
        for i, sample in enumerate(data_samples):
            n = int(num_dets[i, 0])
            bboxes = torch.from_numpy(np.array(boxes[i, :n],
                                               dtype=np.float32))
            pad_param = sample.metainfo.get('pad_param')
            if pad_param is not None:
                top, _, left, _ = (float(p) for p in pad_param)
                bboxes -= bboxes.new_tensor([left, top, left, top])
            scale = bboxes.new_tensor(sample.metainfo['scale_factor'])
            bboxes /= scale.repeat(2)
            height, width = sample.metainfo['ori_shape'][:2]
            bboxes[:, 0::2].clamp_(0, width)
            bboxes[:, 1::2].clamp_(0, height)
            sample.pred_instances = InstanceData(
                bboxes=bboxes,
                scores=torch.from_numpy(
                    np.array(scores[i, :n], dtype=np.float32)),
                labels=torch.from_numpy(labels[i, :n].astype(np.int64)))
            results.append(sample)
        return results

    def run(self, inputs: np.ndarray) -> List[np.ndarray]:
        """:meth:`forward` on a checked batch."""
        self.check_inputs(inputs)
        return self.forward(inputs)

    def test_step(self, data: dict) -> List[DetDataSample]:
        """Detect on a batch of a dataloader that applies the config's test
        pipeline (as mmengine's ``model.test_step`` does)."""
        data = self.data_preprocessor(data, False)
        outputs = self.run(np.ascontiguousarray(data['inputs'].numpy()))
        return self.postprocess(outputs, data['data_samples'])

    def __call__(self, images: Sequence[ImageType]) -> List[DetDataSample]:
        """Detect objects in BGR images (arrays or file paths).

        Returns:
            list[DetDataSample]: One per image, with ``pred_instances``
            (``bboxes`` xyxy in original-image pixels, ``scores``,
            ``labels``), drawable with mmdet's ``DetLocalVisualizer``.
        """
        if isinstance(images, (str, np.ndarray)):
            raise ValueError('images must be a list of arrays or paths')
        inputs, data_samples = self.preprocess(images)
        outputs = self.run(inputs.numpy())
        return self.postprocess(outputs, data_samples)
