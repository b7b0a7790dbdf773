"""OpenVINO inference of an exported detector (float or INT8)."""
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.config import Config

from mmyoloms.utils import positive_int
from .detector import DeployedDetector
from .utils import check_choice

#: Inference precisions accepted by :func:`compile_openvino`. ``'f32'``
#: is set explicitly: on CPUs with AMX or AVX512-FP16 OpenVINO's default
#: is bf16 / f16 arithmetic, not the float32 the model was exported in.
PRECISIONS = ('f32', 'bf16', 'f16')
#: Performance hints accepted by :func:`compile_openvino`.
HINTS = ('LATENCY', 'THROUGHPUT')
MODEL_EXTENSIONS = ('.onnx', '.xml')


def convert_to_openvino(onnx_file: str,
                        out_file: str,
                        compress_to_fp16: bool = False) -> str:
    """Convert an exported ONNX file to OpenVINO IR (``.xml`` + ``.bin``).

    OpenVINO also reads the ``.onnx`` file directly (:class:`OVDetector`
    does); the IR only saves the conversion at load time.

    Args:
        onnx_file (str): Model written by :func:`export_onnx`.
        out_file (str): The ``.xml`` file; the weights go beside it.
        compress_to_fp16 (bool): Store the weights in float16 (computation
            stays in the compiled precision). Defaults to False: the
            weights stay float32.

    Returns:
        str: ``out_file``.
    """
    import openvino as ov
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(f'ONNX file not found: {onnx_file}')
    if not out_file.endswith('.xml'):
        raise ValueError(f'out_file must end with .xml, got {out_file}')
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    ov.save_model(
        ov.convert_model(onnx_file),
        out_file,
        compress_to_fp16=compress_to_fp16)
    return out_file


def compile_openvino(model,
                     num_threads: Optional[int] = None,
                     precision: str = 'f32',
                     hint: str = 'LATENCY',
                     profiling: bool = False):
    """Compile a model for OpenVINO's CPU plugin, every setting explicit:
    the one place where the project's OpenVINO settings are made.

    Args:
        model (str or openvino.Model): ``.onnx`` / ``.xml`` file or a
            model read already.
        num_threads (int, optional): ``INFERENCE_NUM_THREADS``; None lets
            OpenVINO choose (one per core). Defaults to None.
        precision (str): ``INFERENCE_PRECISION_HINT``, one of
            :data:`PRECISIONS`. Defaults to ``'f32'``.
        hint (str): ``PERFORMANCE_HINT``, one of :data:`HINTS`:
            ``'LATENCY'`` (one stream, one request at a time) or
            ``'THROUGHPUT'``. Defaults to ``'LATENCY'``.
        profiling (bool): ``ENABLE_PROFILING``: per-layer performance
            counters (:mod:`mmyoloms.profiling.operators`).
            Defaults to False.

    Returns:
        openvino.CompiledModel
    """
    import openvino as ov
    import openvino.properties as props
    import openvino.properties.hint as hints
    check_choice('precision', precision, PRECISIONS)
    check_choice('hint', hint, HINTS)
    config = {
        hints.performance_mode: getattr(hints.PerformanceMode, hint),
        hints.inference_precision: getattr(ov.Type, precision),
    }
    if num_threads is not None:
        config[props.inference_num_threads] = positive_int(
            num_threads, 'num_threads')
    if profiling:
        config[props.enable_profiling] = True
    core = ov.Core()
    if isinstance(model, str):
        if not osp.isfile(model):
            raise FileNotFoundError(f'model file not found: {model}')
        if not model.endswith(MODEL_EXTENSIONS):
            raise ValueError(f'OpenVINO reads {MODEL_EXTENSIONS} files, got '
                             f'{model}')
        model = core.read_model(model)
    return core.compile_model(model, 'CPU', config)


class OVDetector(DeployedDetector):
    """Detect objects with OpenVINO from an ONNX file written by
    :func:`mmyoloms.deploy.export_onnx` (with NMS), its IR
    (:func:`convert_to_openvino`) or its INT8 IR
    (:func:`mmyoloms.deploy.quantize_openvino`).

    Pre- and post-processing are :class:`DeployedDetector`'s, shared with
    :class:`ORTDetector`.

    Args:
        model_file (str): ``.onnx`` or ``.xml`` file.
        config (str or Config): The config the model was exported from.
        shape (Sequence[int], optional): ``(H, W)`` of a model exported
            with dynamic shapes. Defaults to None.
        num_threads (int, optional): Inference threads. Defaults to None.
        precision (str): See :func:`compile_openvino`.
            Defaults to ``'f32'``.
        hint (str): See :func:`compile_openvino`.
            Defaults to ``'LATENCY'``.

    Example:
        >>> detector = OVDetector('yoloms-xs.onnx', 'configs/yoloms/'
        ...                       'yoloms-xs_syncbn_fast_8xb8-300e_coco.py',
        ...                       num_threads=2)
        >>> result = detector(['demo.jpg'])[0]   # a DetDataSample
    """

    backend = 'openvino'

    def __init__(self,
                 model_file: str,
                 config: Union[str, Config],
                 shape: Optional[Sequence[int]] = None,
                 num_threads: Optional[int] = None,
                 precision: str = 'f32',
                 hint: str = 'LATENCY') -> None:
        self.precision = precision
        self.hint = hint
        super().__init__(model_file, config, shape, num_threads)

    def load(self, model_file: str):
        self.compiled = compile_openvino(model_file, self.num_threads,
                                         self.precision, self.hint)
        self.request = self.compiled.create_infer_request()
        shape = self.compiled.inputs[0].get_partial_shape()
        dims = [d.get_length() if d.is_static else None for d in shape]
        return ([i.get_any_name() for i in self.compiled.inputs], dims,
                [o.get_any_name() for o in self.compiled.outputs])

    def forward(self, inputs: np.ndarray) -> List[np.ndarray]:
        """Run the compiled model: ``num_dets, boxes, scores, labels``."""
        self.request.infer({0: inputs})
        return [
            self.request.get_output_tensor(i).data.copy()
            for i in range(len(self.compiled.outputs))
        ]
