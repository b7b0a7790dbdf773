"""onnxruntime inference of an exported detector."""
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config

from mmyoloms.utils import positive_int
from .detector import DeployedDetector
from .export import INPUT_NAME


def make_session(onnx_file: str,
                 num_threads: Optional[int] = None,
                 allow_spinning: bool = False,
                 profile_prefix: Optional[str] = None,
                 providers: Sequence[str] = ('CPUExecutionProvider', )):
    """An onnxruntime session with all graph optimisations (on the CPU
    unless ``providers`` says otherwise).

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
        providers (Sequence[str]): Execution providers in order of
            preference, e.g. ``('CUDAExecutionProvider',
            'CPUExecutionProvider')``; each must be one this onnxruntime
            has (``onnxruntime.get_available_providers()``).
            Defaults to ``('CPUExecutionProvider', )``.

    Returns:
        onnxruntime.InferenceSession

    Raises:
        ValueError: A provider this onnxruntime does not have (the
            ``onnxruntime`` package has no CUDA provider; the
            ``onnxruntime-gpu`` package has).
    """
    import onnxruntime as ort
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(f'ONNX file not found: {onnx_file}')
    available = ort.get_available_providers()
    missing = [p for p in providers if p not in available]
    if not providers or missing:
        raise ValueError(
            f'providers must be a non-empty subset of this onnxruntime\'s '
            f'{available}; {missing or "none"} given that it lacks')
    options = ort.SessionOptions()
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    if num_threads is not None:
        options.intra_op_num_threads = positive_int(num_threads,
                                                    'num_threads')
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry('session.intra_op.allow_spinning',
                                     '1' if allow_spinning else '0')
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(onnx_file, options, providers=list(providers))


class ORTDetector(DeployedDetector):
    """Detect objects with an ONNX file written by
    :func:`mmyoloms.deploy.export_onnx` (with NMS), on onnxruntime.

    Pre- and post-processing are :class:`DeployedDetector`'s (the config's
    test pipeline and data preprocessor; boxes mapped back to the image).

    Args:
        onnx_file (str): Exported model (float or INT8 QDQ).
        config (str or Config): The config the model was exported from.
        shape (Sequence[int], optional): ``(H, W)`` input of a model
            exported with dynamic shapes. Static models take their own
            shape, and a different one is an error. Defaults to None (the
            config's scale).
        num_threads (int, optional): Intra-op threads. Defaults to None.
        allow_spinning (bool): See :func:`make_session`.
            Defaults to False.
        providers (Sequence[str]): See :func:`make_session`.
            Defaults to ``('CPUExecutionProvider', )``.

    Example:
        >>> detector = ORTDetector('yoloms-xs.onnx', 'configs/yoloms/'
        ...                        'yoloms-xs_syncbn_fast_8xb8-300e_coco.py')
        >>> result = detector(['demo.jpg'])[0]   # a DetDataSample
        >>> result.pred_instances.bboxes.shape    # (num_dets, 4), xyxy
        >>> detector.dataset_meta['classes'][:2]
        ('person', 'bicycle')
    """

    backend = 'onnxruntime'

    def __init__(self,
                 onnx_file: str,
                 config: Union[str, Config],
                 shape: Optional[Sequence[int]] = None,
                 num_threads: Optional[int] = None,
                 allow_spinning: bool = False,
                 providers: Sequence[str] = ('CPUExecutionProvider', )
                 ) -> None:
        self.allow_spinning = allow_spinning
        self.providers = tuple(providers)
        super().__init__(onnx_file, config, shape, num_threads)

    def load(self, model_file: str):
        self.session = make_session(model_file, self.num_threads,
                                    self.allow_spinning,
                                    providers=self.providers)
        inputs = self.session.get_inputs()
        return ([i.name for i in inputs], list(inputs[0].shape),
                [o.name for o in self.session.get_outputs()])

    def forward(self, inputs: np.ndarray) -> List[np.ndarray]:
        """Run the session: ``num_dets, boxes, scores, labels``."""
        return self.session.run(None, {INPUT_NAME: inputs})
