"""onnxruntime inference of an exported detector."""
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData

from .end2end import OUTPUT_NAMES
from .export import INPUT_NAME
from .pipeline import ImageType, build_test_pipeline, preprocess
from .utils import load_config, register_scopes


def make_session(onnx_file: str,
                 num_threads: Optional[int] = None,
                 allow_spinning: bool = False,
                 profile_prefix: Optional[str] = None):
    """An onnxruntime CPU session with all graph optimisations.

    Args:
        onnx_file (str): Model file.
        num_threads (int, optional): Intra-op threads; None lets
            onnxruntime choose (one per core). Defaults to None.
        allow_spinning (bool): Let idle worker threads spin. Spinning
            threads burn the cores that another runtime in the same process
            (or a PyTorch model timed next to it) needs, so it is off by
            default. Defaults to False.
        profile_prefix (str, optional): Write onnxruntime's per-node
            profile with this prefix. Defaults to None.

    Returns:
        onnxruntime.InferenceSession
    """
    import onnxruntime as ort
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(f'ONNX file not found: {onnx_file}')
    options = ort.SessionOptions()
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    if num_threads is not None:
        if not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(
                f'num_threads must be an int >= 1, got {num_threads}')
        options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry('session.intra_op.allow_spinning',
                                     '1' if allow_spinning else '0')
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(
        onnx_file, options, providers=['CPUExecutionProvider'])


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


class ORTDetector:
    """Detect objects with an ONNX file written by
    :func:`mmyoloms.deploy.export_onnx` (with NMS).

    Images go through the config's test pipeline and data preprocessor
    (exactly as for the PyTorch model), the session returns detections in
    network-input coordinates, and these are mapped back to the original
    image as mmyolo's ``predict_by_feat(rescale=True)`` does: remove the
    letterbox padding, divide by the resize factor, clip to the image.

    Args:
        onnx_file (str): Exported model.
        config (str or Config): The config the model was exported from.
        shape (Sequence[int], optional): ``(H, W)`` input of a model
            exported with dynamic shapes. Static models take their own
            shape, and a different one is an error. Defaults to None (the
            config's scale).
        num_threads (int, optional): Intra-op threads. Defaults to None.
        allow_spinning (bool): See :func:`make_session`.
            Defaults to False.

    Example:
        >>> detector = ORTDetector('yoloms-xs.onnx', 'configs/yoloms/'
        ...                        'yoloms-xs_syncbn_fast_8xb8-300e_coco.py')
        >>> result = detector(['demo.jpg'])[0]   # a DetDataSample
        >>> result.pred_instances.bboxes.shape    # (num_dets, 4), xyxy
        >>> detector.dataset_meta['classes'][:2]
        ('person', 'bicycle')
    """

    def __init__(self,
                 onnx_file: str,
                 config: Union[str, Config],
                 shape: Optional[Sequence[int]] = None,
                 num_threads: Optional[int] = None,
                 allow_spinning: bool = False) -> None:
        from mmyolo.registry import MODELS
        self.cfg = load_config(config)
        register_scopes(self.cfg)
        self.session = make_session(onnx_file, num_threads, allow_spinning)
        inputs = self.session.get_inputs()
        outputs = [o.name for o in self.session.get_outputs()]
        if [i.name for i in inputs] != [INPUT_NAME] or outputs != list(
                OUTPUT_NAMES):
            raise ValueError(
                f'{onnx_file} is not a detector exported with NMS: expected '
                f'input {INPUT_NAME!r} and outputs {list(OUTPUT_NAMES)}, got '
                f'{[i.name for i in inputs]} and {outputs}')
        static = [d for d in inputs[0].shape[2:] if isinstance(d, int)]
        if len(static) == 2:
            if shape is not None and tuple(shape) != tuple(static):
                raise ValueError(
                    f'{onnx_file} was exported for input (H, W) = '
                    f'{tuple(static)}, got shape={tuple(shape)}')
            shape = static
        self.batch = inputs[0].shape[0] if isinstance(inputs[0].shape[0],
                                                      int) else None
        self.shape = None if shape is None else tuple(shape)
        self.pipeline = build_test_pipeline(self.cfg, self.shape)
        self.data_preprocessor = MODELS.build(
            self.cfg.model.data_preprocessor)
        self.dataset_meta = dataset_meta(self.cfg)

    def preprocess(self, images: Sequence[ImageType]):
        """Images to the network input batch and data samples."""
        if self.batch is not None and len(images) != self.batch:
            raise ValueError(f'the model takes batches of {self.batch} '
                             f'images, got {len(images)}')
        return preprocess(self.pipeline, images, self.data_preprocessor)

    def forward(self, inputs: np.ndarray) -> List[np.ndarray]:
        """Run the session: ``num_dets, boxes, scores, labels``."""
        return self.session.run(None, {INPUT_NAME: inputs})

    def postprocess(self, outputs: List[np.ndarray],
                    data_samples: List[DetDataSample]) -> List[DetDataSample]:
        """Map detections back to the original images."""
        num_dets, boxes, scores, labels = outputs
        results = []
        for i, sample in enumerate(data_samples):
            n = int(num_dets[i, 0])
            bboxes = torch.from_numpy(boxes[i, :n].copy())
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
                scores=torch.from_numpy(scores[i, :n].copy()),
                labels=torch.from_numpy(labels[i, :n].astype(np.int64)))
            results.append(sample)
        return results

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
        outputs = self.forward(inputs.numpy())
        return self.postprocess(outputs, data_samples)
