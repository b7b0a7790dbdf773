"""Model complexity: build a detector from its config, count params and FLOPs.

The one place where mmyoloms counts a model: ``tools/get_flops.py``, the
ablation table (``tools/ablation_table.py``) and the sweeps
(:mod:`mmyoloms.sweep`) all call :func:`get_complexity`.

FLOPs are mmengine's count (:class:`mmengine.analysis.FlopAnalyzer`), i.e.
multiply-accumulates, as the YOLO-MS paper reports them, of the network's
``tensor`` forward (backbone, neck and head; no box decoding or NMS) on one
``1 x 3 x H x W`` image. An MMDetection two-stage detector also runs its
RPN and RoI head in that forward, which need the image metadata of a data
sample; the count is given one, so mmdet and mmyolo detectors are counted
alike. (The RoI head's share depends on how many proposals survive the
RPN, so the input is a fixed pseudo-random image: the count repeats.)
"""
from typing import Dict, Sequence, Union

import torch
import torch.nn as nn
from mmengine.config import Config

from .utils import load_config

__all__ = ['build_model', 'get_complexity']


def _register_modules(cfg: Config) -> None:
    """Fill the mmdet and mmyolo registries and import the config's
    ``custom_imports`` (mmyoloms), without touching the default scope."""
    from mmdet.utils import register_all_modules as register_mmdet
    from mmengine.utils import import_modules_from_strings
    from mmyolo.utils import register_all_modules as register_mmyolo
    register_mmdet(init_default_scope=False)
    register_mmyolo(init_default_scope=False)
    import mmyoloms  # noqa: F401  registers our modules
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)


def build_model(config: Union[str, Config], seed: int = 0) -> nn.Module:
    """Build ``cfg.model`` as mmengine's runner does, in eval mode on CPU.

    The model is built in the config's ``default_scope`` (``mmyolo`` for
    the YOLO configs, ``mmdet`` for MMDetection's), as the runner builds
    it, with the modules of mmdet, mmyolo and the config's
    ``custom_imports`` registered. Weights are not initialised from any
    pretrained checkpoint (``init_weights`` is not called): what is built
    is the architecture, for counting and inspection.

    Args:
        config (str or Config): Config file, ``package::path`` or a
            :class:`Config`.
        seed (int): Seed of the random initialisation; the global random
            state is left as it was. Defaults to 0.

    Returns:
        nn.Module: The model, in eval mode, with ``cfg`` attached.
    """
    from mmengine.registry import MODELS, DefaultScope
    cfg = load_config(config)
    if 'model' not in cfg:
        raise ValueError(f'config {getattr(cfg, "filename", config)} has '
                         'no `model`')
    _register_modules(cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with DefaultScope.overwrite_default_scope(
                cfg.get('default_scope', 'mmengine')):
            model = MODELS.build(cfg.model)
    model.eval()
    model.cfg = cfg
    return model


class _TensorForward(nn.Module):
    """A detector's ``tensor`` forward with fixed data samples, so that
    :class:`FlopAnalyzer` can trace it from the images alone."""

    def __init__(self, detector: nn.Module, data_samples: list) -> None:
        super().__init__()
        self.detector = detector
        self.data_samples = data_samples

    def forward(self, images: torch.Tensor):
        return self.detector._forward(images, self.data_samples)


def _data_samples(shape: Sequence[int]) -> list:
    """One sample with the metadata an mmdet detector's forward reads
    (the RPN clips proposals to ``img_shape``)."""
    from mmdet.structures import DetDataSample
    shape = tuple(shape)
    return [
        DetDataSample(
            metainfo=dict(
                img_shape=shape,
                ori_shape=shape,
                pad_shape=shape,
                batch_input_shape=shape,
                scale_factor=(1.0, 1.0)))
    ]


def get_complexity(model: Union[nn.Module, str, Config],
                   shape: Sequence[int] = (640, 640)) -> Dict:
    """Params and FLOPs of a detector at input size ``shape``.

    Args:
        model (nn.Module, str or Config): A detector with ``_forward``
            (mmdet's ``BaseDetector`` API: mmyolo and mmdet detectors, in
            eager or deploy mode), or a config to build one from
            (:func:`build_model`).
        shape (Sequence[int]): Input ``(H, W)``. Defaults to (640, 640).

    Returns:
        dict: ``params`` and ``flops`` (ints; FLOPs are multiply-adds) and
        ``params_str``/``flops_str`` (``'4.494 M'``, ``'8.739 G'``).

    Raises:
        ValueError: ``shape`` is not two positive ints, or the model has
            no ``_forward``.
    """
    from mmengine.analysis import FlopAnalyzer, parameter_count
    shape = tuple(shape)
    if len(shape) != 2 or any(
            isinstance(s, bool) or not isinstance(s, int) or s < 1
            for s in shape):
        raise ValueError(f'shape must be (H, W), two positive ints, got '
                         f'{shape}')
    if not isinstance(model, nn.Module):
        model = build_model(model)
    if not hasattr(model, '_forward'):
        raise ValueError(
            f'{type(model).__name__} has no `_forward`; expected an mmdet/'
            'mmyolo detector')
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(1, 3, *shape, generator=generator)
    wrapped = _TensorForward(model, _data_samples(shape))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(wrapped, (images, ))
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            flops = int(analyzer.total())
    finally:
        model.train(was_training)
    params = int(parameter_count(model)[''])
    return dict(
        params=params,
        flops=flops,
        params_str=f'{params / 1e6:.3f} M',
        flops_str=f'{flops / 1e9:.3f} G')
