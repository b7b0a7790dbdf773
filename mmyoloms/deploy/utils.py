"""Config loading and detector building shared by the deploy tools."""
import os.path as osp
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from ..utils import load_config


def check_choice(name: str, value, choices: Sequence) -> None:
    """Raise a ``ValueError`` naming the argument ``name`` and listing
    ``choices`` unless ``value`` is one of them."""
    if value not in choices:
        raise ValueError(
            f'{name} must be one of {tuple(choices)}, got {value!r}')


def register_scopes(cfg: Config) -> None:
    """Register mmyolo's modules and the config's ``custom_imports``, and
    make the config's scope (mmyolo) the default one if none is set, so
    that unscoped pipeline and model types resolve."""
    from mmengine.registry import DefaultScope
    from mmengine.utils import import_modules_from_strings
    from mmyolo.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    import mmyoloms  # noqa: F401
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    if DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance(
            'mmyoloms-deploy', scope_name=cfg.get('default_scope', 'mmyolo'))


def calibrate_batch_norms(model: nn.Module,
                          inputs: Optional[Tensor] = None,
                          seed: int = 0) -> None:
    """Give a randomly initialised detector realistic BN statistics.

    With PyTorch's default running statistics (mean 0, var 1) the
    activations of a random detector drift over depth towards huge or
    subnormal values (subnormal floats are up to 10x slower on x86) and its
    scores saturate: timings and detections of such a model mean nothing.
    Here each BN, in execution order and in eval mode, takes as running
    statistics the mean and (biased) variance of its own input on
    ``inputs``, with every earlier BN already calibrated: in eval mode
    every BN output is then exactly normalised on ``inputs``, as in a
    trained model. (Averaging train-mode batch statistics instead leaves
    small mismatches that a random network amplifies layer after layer.)

    Args:
        model (nn.Module): Detector with ``_forward``, changed in place
            and left in eval mode.
        inputs (Tensor, optional): Preprocessed images; the closer to the
            inputs the model will see, the better. Defaults to None
            (a 2 x 3 x 320 x 320 batch of Gaussian noise).
        seed (int): Noise seed. Defaults to 0.
    """
    if inputs is None:
        generator = torch.Generator().manual_seed(seed)
        inputs = torch.randn(2, 3, 320, 320, generator=generator)
    done = set()

    def calibrate(module: _BatchNorm, args: tuple) -> None:
        if module in done:
            return
        x = args[0].detach()
        dims = [d for d in range(x.dim()) if d != 1]
        module.running_mean.copy_(x.mean(dims))
        module.running_var.copy_(x.var(dims, unbiased=False))
        done.add(module)

    model.eval()
    handles = [
        m.register_forward_pre_hook(calibrate) for m in model.modules()
        if isinstance(m, _BatchNorm)
    ]
    try:
        with torch.no_grad():
            model._forward(inputs)
    finally:
        for handle in handles:
            handle.remove()


def build_detector(config: Union[str, Config],
                   checkpoint: Optional[str] = None,
                   seed: int = 0,
                   calibrate: bool = True) -> nn.Module:
    """Build the config's detector in eval mode on CPU.

    The one place where mmyoloms builds a detector from a config (deploy
    tools, benchmarks, complexity counts). The model is built as
    mmengine's runner builds it: in the config's ``default_scope``
    (``mmyolo`` for the YOLO configs, ``mmdet`` for MMDetection's), with
    the modules of mmdet, mmyolo and the config's ``custom_imports``
    registered. A pretrained backbone (``init_cfg`` of type
    ``Pretrained``) is not downloaded: weights come from ``checkpoint``
    or stay random.

    Args:
        config (str or Config): Config file, ``package::path`` or a
            :class:`Config`.
        checkpoint (str, optional): Weights to load. Defaults to None.
        seed (int): Seed of the random initialisation (and of the
            calibration noise); the global random state is left as it
            was. Defaults to 0.
        calibrate (bool): Without a checkpoint, give the random model
            calibrated BN statistics (:func:`calibrate_batch_norms`), so
            that its timings and detections mean something. False keeps
            PyTorch's default statistics: enough to count or inspect the
            architecture, and the choice for a detector whose ``_forward``
            needs data samples (two-stage MMDet detectors). Defaults to
            True.

    Returns:
        nn.Module: The detector, ``eval()``, with ``cfg`` attached.

    Raises:
        ValueError: The config has no ``model``.
        FileNotFoundError: ``checkpoint`` is not a file.
    """
    from mmdet.utils import register_all_modules as register_mmdet
    from mmengine.registry import MODELS, DefaultScope
    cfg = load_config(config)
    if 'model' not in cfg:
        raise ValueError(f'config {getattr(cfg, "filename", config)} has '
                         'no `model`')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    register_mmdet(init_default_scope=False)
    register_scopes(cfg)
    model_cfg = cfg.model.copy()
    backbone = model_cfg.get('backbone') or {}
    backbone_init = backbone.get('init_cfg')
    if isinstance(backbone_init, dict) and backbone_init.get(
            'type') == 'Pretrained':
        model_cfg.backbone = dict(backbone, init_cfg=None)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with DefaultScope.overwrite_default_scope(
                cfg.get('default_scope', 'mmyolo')):
            model = MODELS.build(model_cfg)
        if checkpoint is not None:
            from mmengine.runner import load_checkpoint
            load_checkpoint(model, checkpoint, map_location='cpu')
        else:
            model.init_weights()
    model.eval()
    if checkpoint is None and calibrate:
        calibrate_batch_norms(model, seed=seed)
    model.cfg = cfg
    return model
