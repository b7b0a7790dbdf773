"""INT8 post-training quantization of an exported detector.

Two routes, both calibrated on preprocessed images of the config's dataset
(:func:`calibration_inputs`) and both keeping box decoding and NMS in
float:

- :func:`quantize_openvino`: NNCF on the OpenVINO model, saved as INT8 IR
  (``.xml``); the head's prediction convs and everything after them
  (decoding, top-k, NMS) are NNCF's ignored scope.
- :func:`quantize_onnxruntime`: onnxruntime's static QDQ quantization of
  the ONNX file; ``Conv`` nodes are quantized except the prediction convs,
  so that decoding and NMS read float scores and distances.

8-bit saturation: CPUs without VNNI (AVX2, AVX-512 before Cascade Lake)
multiply u8 x s8 pairs with ``vpmaddubsw``, whose 16-bit intermediate sums
saturate for large weights and activations. NNCF's ``overflow_fix``
(weights on 7 bits) and onnxruntime's ``reduce_range`` (7-bit weights)
avoid it; with VNNI or AMX they are not needed. Both are on by default:
the same INT8 model then runs correctly on any x86 CPU, and on the shapes
set they cost no AP (``docs/deploy.md``).

Bias correction (NNCF route): NNCF's fast bias correction (its default)
runs each quantized layer on one blob of per-channel input means and moves
the bias by the difference to the collected mean output; that takes
``mean(conv(x)) = conv(mean(x))``, which zero padding breaks where the
border is a large part of a small feature map. Measured on YOLOv6-MS-t
trained on the 96x96 shapes set (12x12 maps at stride 8): the box branch's
3x3 head conv got a bias shift of up to 0.176 (|bias| up to 0.84), of
which the float arithmetic alone (no quantization) accounts for 0.175,
and OpenVINO INT8 AP fell to 0.461 against float 0.513; full bias
correction (``bias_correction='full'``, the layer run on the calibration
images themselves) 0.496, none 0.493 (YOLO-MS-XS 0.280 fast, 0.282 full;
YOLOv8-MS-n 0.392 fast, 0.393 full). Full took 16 s against 10 s there;
NNCF documents it as slower and needing more memory, so fast stays the
default (at 640x640 the maps are 80x80 to 20x20 and the border matters
less; not measured).
"""
import copy
import os
import os.path as osp
from typing import (Collection, Iterable, Iterator, List, Optional, Sequence,
                    Union)

import numpy as np
from mmengine.config import Config

from mmyoloms.utils import positive_int
from .pipeline import set_pipeline_scale
from .utils import check_choice, load_config, register_scopes

OVERFLOW_FIXES = ('enable', 'first_layer_only', 'disable')
#: NNCF bias correction after quantization: ``'fast'`` (NNCF's default,
#: on per-channel input means), ``'full'`` (on the calibration images),
#: ``'none'``.
BIAS_CORRECTIONS = ('fast', 'full', 'none')
#: NNCF presets: symmetric (``'performance'``) or asymmetric (``'mixed'``)
#: activations.
PRESETS = ('performance', 'mixed')
SPLITS = ('train', 'val', 'test')


def _base_dataset_cfg(cfg: Config, split: str) -> dict:
    check_choice('split', split, SPLITS)
    loader = cfg.get(f'{split}_dataloader')
    if loader is None:
        raise ValueError(f'the config has no {split}_dataloader to '
                         'calibrate on')
    dataset = copy.deepcopy(loader.dataset)
    while 'dataset' in dataset:  # dataset wrappers
        dataset = dataset.dataset
    return dataset


def calibration_indices(dataset_size: int, num_images: int,
                        seed: int = 0) -> List[int]:
    """Which images of a dataset calibrate: ``num_images`` indices spread
    over the whole dataset, one drawn at random (seeded) from each of
    ``num_images`` equal consecutive strata.

    Datasets are often ordered (by source, scene or class); the first
    images alone would calibrate on one part of it. Stratified sampling
    covers the dataset evenly and, unlike a fixed stride, does not lock
    onto a period of the order.

    Args:
        dataset_size (int): Images in the dataset.
        num_images (int): Indices to draw, at most ``dataset_size``.
        seed (int): Seed of the draw. Defaults to 0.

    Returns:
        list[int]: Increasing, distinct indices; stratum ``i`` is
        ``[i * dataset_size // num_images, (i + 1) * dataset_size //
        num_images)``.
    """
    positive_int(num_images, 'num_images')
    if num_images > dataset_size:
        raise ValueError(f'{num_images} calibration images asked, but the '
                         f'dataset has {dataset_size}')
    rng = np.random.default_rng(seed)
    bounds = [i * dataset_size // num_images for i in range(num_images + 1)]
    return [int(rng.integers(lo, hi)) for lo, hi in zip(bounds, bounds[1:])]


class CalibrationInputs:
    """Preprocessed calibration images, read one at a time.

    Iterating yields ``1 x 3 x H x W`` float32 arrays, each read from disk,
    transformed and preprocessed when it is reached, so that only one
    image is held in memory; every iteration reads them anew (NNCF may
    pass over the data more than once). ``len()`` is the number of images.

    Args:
        dataset: The dataset (its ``pipeline`` the test pipeline).
        indices (list[int]): Images to yield, in this order.
        data_preprocessor (nn.Module): The model's data preprocessor.
    """

    def __init__(self, dataset, indices: List[int],
                 data_preprocessor) -> None:
        self.dataset = dataset
        self.indices = list(indices)
        self.data_preprocessor = data_preprocessor

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[np.ndarray]:
        from mmengine.dataset import pseudo_collate
        for index in self.indices:
            data = self.data_preprocessor(
                pseudo_collate([self.dataset[index]]), False)
            yield np.ascontiguousarray(data['inputs'].numpy())


def calibration_inputs(config: Union[str, Config],
                       num_images: int,
                       shape: Sequence[int],
                       split: str = 'train',
                       data_preprocessor=None,
                       seed: int = 0) -> CalibrationInputs:
    """Preprocessed images of the config's dataset for calibration.

    ``num_images`` images spread over the ``split`` dataset (wrappers such
    as ``RepeatDataset`` removed; :func:`calibration_indices`) go through
    the config's *test* pipeline resized to ``shape`` and the model's data
    preprocessor, as every deployed input does, one at a time as they are
    iterated.

    Args:
        config (str or Config): The model's config.
        num_images (int): Images to take.
        shape (Sequence[int]): Network input ``(H, W)``.
        split (str): ``'train'`` (default), ``'val'`` or ``'test'``.
        data_preprocessor (nn.Module, optional): Defaults to the one of
            the config's model.
        seed (int): Seed of the choice of images. Defaults to 0.

    Returns:
        CalibrationInputs: An iterable of ``1 x 3 x H x W`` float32 arrays
        with a length.
    """
    from mmdet.utils import get_test_pipeline_cfg
    from mmyolo.registry import DATASETS, MODELS
    cfg = load_config(config)
    register_scopes(cfg)
    positive_int(num_images, 'num_images')
    dataset_cfg = _base_dataset_cfg(cfg, split)
    dataset_cfg.pipeline = set_pipeline_scale(
        get_test_pipeline_cfg(cfg), shape)
    dataset_cfg.pop('batch_shapes_cfg', None)
    dataset_cfg.test_mode = True
    dataset = DATASETS.build(dataset_cfg)
    if len(dataset) < num_images:
        raise ValueError(
            f'{num_images} calibration images asked, but the {split} '
            f'dataset has {len(dataset)}')
    if data_preprocessor is None:
        data_preprocessor = MODELS.build(cfg.model.data_preprocessor)
    return CalibrationInputs(
        dataset, calibration_indices(len(dataset), num_images, seed),
        data_preprocessor)


def decoding_node_names(model) -> List[str]:
    """Friendly names of the OpenVINO nodes that stay float: the head's
    last convolutions (the ones no other convolution depends on) and
    everything after them (box decoding, top-k, NMS, output plumbing),
    constants excluded.

    The prediction convs are cheap (1x1) and their outputs are the scores
    and box distances themselves; in float they also keep OpenVINO's
    low-precision pass from moving their dequantization into the decoding
    arithmetic.
    """
    convs = ('Convolution', 'GroupConvolution')
    feeds_conv = set()
    stack = [
        value.get_node() for op in model.get_ordered_ops()
        if op.get_type_name() in convs for value in op.input_values()
    ]
    while stack:  # every node some convolution depends on
        op = stack.pop()
        name = op.get_friendly_name()
        if name in feeds_conv:
            continue
        feeds_conv.add(name)
        stack += [value.get_node() for value in op.input_values()]
    return [
        op.get_friendly_name() for op in model.get_ordered_ops()
        if op.get_friendly_name() not in feeds_conv
        and op.get_type_name() not in ('Constant', 'Result', 'Parameter')
    ]


def quantize_openvino(onnx_file: str,
                      out_file: str,
                      inputs: Collection[np.ndarray],
                      overflow_fix: str = 'enable',
                      preset: str = 'performance',
                      bias_correction: str = 'fast') -> str:
    """INT8 OpenVINO IR of an exported detector, by NNCF.

    Args:
        onnx_file (str): Float model (``.onnx`` or ``.xml``) with NMS.
        out_file (str): INT8 ``.xml`` (weights in the ``.bin`` beside it).
        inputs (Collection[np.ndarray]): Calibration batches, iterated
            (and counted) without being copied into a list
            (:func:`calibration_inputs`).
        overflow_fix (str): NNCF's ``overflow_fix``, one of
            :data:`OVERFLOW_FIXES`: ``'enable'`` (all layers: safe on CPUs
            without VNNI), ``'first_layer_only'``, ``'disable'`` (8-bit
            weights: only for CPUs with VNNI or AMX). Defaults to
            ``'enable'``.
        preset (str): ``'performance'`` (symmetric activations) or
            ``'mixed'`` (asymmetric activations). Defaults to
            ``'performance'``.
        bias_correction (str): One of :data:`BIAS_CORRECTIONS`:
            ``'fast'`` (NNCF's default), ``'full'`` (exact, slower; for
            small inputs, see the module notes) or ``'none'``. Defaults to
            ``'fast'``.

    Returns:
        str: ``out_file``.
    """
    import nncf
    import openvino as ov
    check_choice('overflow_fix', overflow_fix, OVERFLOW_FIXES)
    check_choice('preset', preset, PRESETS)
    check_choice('bias_correction', bias_correction, BIAS_CORRECTIONS)
    if not out_file.endswith('.xml'):
        raise ValueError(f'out_file must end with .xml, got {out_file}')
    if len(inputs) == 0:
        raise ValueError('no calibration inputs')
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(f'model file not found: {onnx_file}')
    # convert_model (not read_model) applies OpenVINO's offline graph
    # simplifications first; NNCF then sees the graph the plugin compiles
    model = ov.convert_model(onnx_file)
    quantized = nncf.quantize(
        model,
        nncf.Dataset(inputs),
        preset=nncf.QuantizationPreset(preset),
        subset_size=len(inputs),
        fast_bias_correction=bias_correction != 'full',
        ignored_scope=nncf.IgnoredScope(
            names=decoding_node_names(model), validate=False),
        advanced_parameters=nncf.AdvancedQuantizationParameters(
            overflow_fix=nncf.OverflowFix(overflow_fix),
            disable_bias_correction=bias_correction == 'none'))
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    ov.save_model(quantized, out_file, compress_to_fp16=False)
    return out_file


def prediction_conv_names(onnx_file: str) -> List[str]:
    """Names of the ``Conv`` nodes of an ONNX graph that no other ``Conv``
    depends on: the head's prediction convs, whose outputs are the scores
    and box distances."""
    import onnx
    graph = onnx.load(onnx_file, load_external_data=False).graph
    producer = {out: node for node in graph.node for out in node.output}
    feeds_conv = set()
    stack = [
        producer[name] for node in graph.node if node.op_type == 'Conv'
        for name in node.input if name in producer
    ]
    while stack:  # every node some Conv depends on
        node = stack.pop()
        if node.name in feeds_conv:
            continue
        feeds_conv.add(node.name)
        stack += [producer[n] for n in node.input if n in producer]
    return [
        node.name for node in graph.node
        if node.op_type == 'Conv' and node.name not in feeds_conv
    ]


class _Reader:
    """onnxruntime ``CalibrationDataReader`` over an iterable of batches,
    read one at a time."""

    def __init__(self, inputs: Iterable[np.ndarray], name: str) -> None:
        self._items = ({name: x} for x in inputs)

    def get_next(self) -> Optional[dict]:
        return next(self._items, None)


def quantize_onnxruntime(onnx_file: str,
                         out_file: str,
                         inputs: Collection[np.ndarray],
                         reduce_range: bool = True,
                         per_channel: bool = True) -> str:
    """INT8 ONNX (QDQ) of an exported detector, by onnxruntime.

    ``Conv`` nodes are quantized (u8 activations, s8 weights), calibrated
    by min-max on ``inputs``, except the head's prediction convs
    (:func:`prediction_conv_names`), so that scores and box distances
    reach decoding and NMS in float.

    Args:
        onnx_file (str): Float ``.onnx`` with NMS.
        out_file (str): INT8 ``.onnx``.
        inputs (Collection[np.ndarray]): Calibration batches, iterated
            once without being copied into a list.
        reduce_range (bool): 7-bit weights, safe on CPUs without VNNI;
            False only for CPUs with VNNI or AMX. Defaults to True.
        per_channel (bool): One weight scale per output channel.
            Defaults to True.

    Returns:
        str: ``out_file``.
    """
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from .export import INPUT_NAME
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(f'model file not found: {onnx_file}')
    if not out_file.endswith('.onnx'):
        raise ValueError(f'out_file must end with .onnx, got {out_file}')
    if len(inputs) == 0:
        raise ValueError('no calibration inputs')
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    quantize_static(
        onnx_file,
        out_file,
        _Reader(inputs, INPUT_NAME),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=['Conv'],
        nodes_to_exclude=prediction_conv_names(onnx_file),
        per_channel=per_channel,
        reduce_range=reduce_range,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        # onnxruntime's min-max collector keeps the activations of every
        # calibration image until it computes the ranges (its
        # CalibMaxIntermediateOutputs drops them instead, onnxruntime
        # 1.31), so this route holds them; the images themselves stream
        calibrate_method=CalibrationMethod.MinMax)
    return out_file


def quantize_model(onnx_file: str,
                   out_file: str,
                   config: Union[str, Config],
                   calib_images: int,
                   split: str = 'train',
                   overflow_fix: str = 'enable',
                   reduce_range: bool = True,
                   seed: int = 0,
                   bias_correction: str = 'fast') -> str:
    """INT8 model of an exported detector, calibrated on ``calib_images``
    images of the config's ``split`` dataset; the extension of
    ``out_file`` picks the route: ``.xml`` NNCF / OpenVINO
    (:func:`quantize_openvino`), ``.onnx`` onnxruntime QDQ
    (:func:`quantize_onnxruntime`).

    The calibration images, spread over the dataset
    (:func:`calibration_indices`), are resized to the graph's input shape
    and read one at a time.

    Args:
        onnx_file (str): Float ``.onnx`` written by :func:`export_onnx`
            (static shape).
        out_file (str): ``.xml`` or ``.onnx``.
        config (str or Config): The config the model was exported from.
        calib_images (int): Number of calibration images.
        split (str): Dataset split. Defaults to ``'train'``.
        overflow_fix (str): NNCF route only. Defaults to ``'enable'``.
        reduce_range (bool): onnxruntime route only. Defaults to True.
        seed (int): Seed of the choice of calibration images
            (:func:`calibration_indices`). Defaults to 0.
        bias_correction (str): NNCF route only
            (:func:`quantize_openvino`). Defaults to ``'fast'``.

    Returns:
        str: ``out_file``.
    """
    import onnx
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(f'model file not found: {onnx_file}')
    if not out_file.endswith(('.xml', '.onnx')):
        raise ValueError('the INT8 model file must end with .xml (OpenVINO) '
                         f'or .onnx (onnxruntime), got {out_file}')
    dims = onnx.load(onnx_file, load_external_data=False).graph.input[0] \
        .type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField('dim_value') else None for d in dims]
    if None in shape[2:]:
        raise ValueError(f'{onnx_file} has a dynamic input shape {shape}: '
                         'export a static shape to quantize')
    inputs = calibration_inputs(config, calib_images, shape[2:], split,
                                seed=seed)
    if out_file.endswith('.xml'):
        return quantize_openvino(onnx_file, out_file, inputs, overflow_fix,
                                 bias_correction=bias_correction)
    return quantize_onnxruntime(onnx_file, out_file, inputs, reduce_range)
