"""Fixes that the OpenMMLab 2.0 stack needs on a modern PyTorch.

They apply to mmengine up to :data:`MMENGINE_NEEDS_FIXES_UP_TO` (0.10.7,
the version this package is tested with); with a newer mmengine nothing is
patched.

Checkpoints on torch >= 2.6
---------------------------
mmengine 0.10.7 loads checkpoints with a bare ``torch.load(filename)``.
Since torch 2.6 that means ``weights_only=True``, and every checkpoint that
mmengine itself saves is refused ("Unsupported global: GLOBAL
mmengine.logging.history_buffer.HistoryBuffer"), which breaks ``--resume``
and ``load_from``. Switching ``weights_only`` off would let any checkpoint
run arbitrary code, so instead :func:`load_checkpoint_file` replaces
mmengine's loader for local files and keeps ``weights_only=True`` with a
small allowlist: exactly the globals that mmengine / mmdet / mmyolo
checkpoints hold (:data:`CHECKPOINT_SAFE_GLOBALS`).

``builtins.getattr`` also appears there: a pickled ``HistoryBuffer`` keeps
its statistics methods as ``getattr(HistoryBuffer, 'mean')`` etc. Allowing
``getattr`` wholesale would let a pickle reach any attribute of any allowed
object, so the name is mapped to :func:`_checkpoint_getattr`, which only
resolves registered ``HistoryBuffer`` statistics methods.

Any other global makes the load fail with :class:`UntrustedCheckpointError`,
which names the globals and the explicit opt-in for a file the user trusts:
``trust_checkpoint(path)`` in Python, the environment variable
``MMYOLOMS_TRUSTED_CHECKPOINTS`` (paths separated by ``os.pathsep``), or
``tools/test.py --trust-checkpoint``.

On torch < 2.5 (no ``torch.serialization.safe_globals``) the same
allowlist is enforced by :class:`_AllowlistUnpickler`, an unpickler whose
``find_class`` resolves only torch's own tensor-rebuilding globals and
:data:`CHECKPOINT_SAFE_GLOBALS`, given to ``torch.load`` as its
``pickle_module``.

Features of newer torch releases
--------------------------------
:data:`TORCH_FEATURES` lists the torch features this package uses that the
oldest supported torch (2.0.1) lacks, with the release that brought each.
:func:`has_torch_feature` answers for the installed torch,
:func:`require_torch_feature` raises :class:`TorchFeatureError` naming the
version needed, and :func:`log_fallback` writes the one log line of a
degraded path. The callers: ONNX export (:mod:`mmyoloms.deploy.export`,
:mod:`mmyoloms.deploy.nms`), CPU bfloat16 autocast
(:mod:`mmyoloms.engine.optim_wrapper`), the fused AdamW on CPU
(:class:`AdamWFusedOnlyWhereSupported`, installed by :func:`apply`) and the
checkpoint loader above.
"""
import logging
import os
import os.path as osp
import pickle
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, Union

import torch

TRUSTED_ENV = 'MMYOLOMS_TRUSTED_CHECKPOINTS'

#: The oldest torch release this package is tested with.
OLDEST_TORCH = '2.0.1'

#: Torch features used here that :data:`OLDEST_TORCH` lacks:
#: ``name -> (first torch release with it, what it is)``.
TORCH_FEATURES: Dict[str, Tuple[str, str]] = {
    'custom_op': ('2.4', 'torch.library.custom_op (the ONNX NMS operator '
                  'with a fake kernel for torch.export)'),
    'cpu_fused_adamw': ('2.4', 'the fused AdamW kernel on CPU'),
    'safe_globals': ('2.5', 'torch.serialization.safe_globals (allowlisted '
                     'weights_only checkpoint loading)'),
    'onnx_export_dynamo_flag': ('2.5', 'the dynamo= argument of '
                                'torch.onnx.export'),
    'dynamo_onnx_export': ('2.6', 'the dynamo ONNX exporter with a custom '
                           'translation table (dynamic-shape export)'),
}


class TorchFeatureError(RuntimeError):
    """The installed torch is too old for a requested feature."""


def _release(version: str) -> Tuple[int, ...]:
    """``'2.0.1+cu117'`` -> ``(2, 0, 1)``; pre-releases count as released
    (a 2.6 nightly has the 2.6 features)."""
    release = []
    for part in version.split('+')[0].split('.'):
        digits = ''
        for char in part:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        release.append(int(digits))
        if len(digits) != len(part):
            break
    if not release:
        raise ValueError(f'version must start with a number, got {version!r}')
    return tuple(release)


def torch_version_at_least(version: str,
                           torch_version: Optional[str] = None) -> bool:
    """Whether torch (default: the installed one) is ``>= version``."""
    if torch_version is None:
        torch_version = torch.__version__
    have, need = _release(torch_version), _release(version)
    width = max(len(have), len(need))
    return have + (0, ) * (width - len(have)) >= need + (0, ) * (
        width - len(need))


def has_torch_feature(name: str, torch_version: Optional[str] = None) -> bool:
    """Whether torch (default: the installed one) has feature ``name`` of
    :data:`TORCH_FEATURES`."""
    if name not in TORCH_FEATURES:
        raise ValueError(f'name must be one of {sorted(TORCH_FEATURES)}, '
                         f'got {name!r}')
    return torch_version_at_least(TORCH_FEATURES[name][0], torch_version)


def require_torch_feature(name: str, purpose: str) -> None:
    """Raise :class:`TorchFeatureError` unless torch has feature ``name``.

    Args:
        name (str): A key of :data:`TORCH_FEATURES`.
        purpose (str): What needs it, for the message.
    """
    if not has_torch_feature(name):
        raise torch_feature_error(name, purpose)


def torch_feature_error(name: str, purpose: str) -> TorchFeatureError:
    """The :class:`TorchFeatureError` saying that ``purpose`` needs feature
    ``name`` of :data:`TORCH_FEATURES`, for a caller that decided so."""
    version, what = TORCH_FEATURES[name]
    return TorchFeatureError(
        f'{purpose} needs torch >= {version} ({what}); this is torch '
        f'{torch.__version__}')


_fallbacks_logged: Set[str] = set()


def log_fallback(name: str, message: str) -> bool:
    """Log, once per process and feature, that a plain path replaces
    feature ``name`` on this torch.

    Returns:
        bool: Whether the line was written (False when it was before).
    """
    if name in _fallbacks_logged:
        return False
    _fallbacks_logged.add(name)
    from mmengine.logging import print_log
    version = TORCH_FEATURES[name][0] if name in TORCH_FEATURES else None
    needs = f' (needs torch >= {version})' if version else ''
    print_log(
        f'mmyoloms: torch {torch.__version__}: {message}{needs}',
        logger='current',
        level=logging.WARNING)
    return True

_trusted_paths: Set[str] = set()
_applied = False


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects outside the allowlist."""


# HistoryBuffer's built-in statistics; it registers them lazily, in its
# first __init__, so they are not in ``_statistics_methods`` before that.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _checkpoint_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to what mmengine checkpoints need."""
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and (name in _HISTORY_BUFFER_STATISTICS or
                                 name in HistoryBuffer._statistics_methods):
        return getattr(obj, name)
    raise UntrustedCheckpointError(
        f'checkpoint calls getattr({obj!r}, {name!r}); only registered '
        'HistoryBuffer statistics methods are allowed')


def checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The globals allowed in ``weights_only`` loads of mmengine checkpoints.

    Saved under numpy 2 a checkpoint lists them as
    ``numpy._core.multiarray.*``; under numpy 1 as ``numpy.core.*``. Both
    spellings map to the same callables.
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    safe: List[Union[Callable, Tuple[Callable, str]]] = [
        HistoryBuffer, np.ndarray, np.dtype,
        (_checkpoint_getattr, 'builtins.getattr')
    ]
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        safe += [(multiarray._reconstruct, f'{module}._reconstruct'),
                 (multiarray.scalar, f'{module}.scalar')]
    # Unpickling ``numpy.dtype(...)`` yields an instance of its DType class
    # (numpy >= 1.25), whose state is then set: those classes must be
    # allowed too. They are plain data-type descriptors.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType') and isinstance(
                getattr(dtypes, name), type)
        ]
    return safe


def _allowed_names() -> Set[str]:
    names = set()
    for item in checkpoint_safe_globals():
        if isinstance(item, tuple):
            names.add(item[1])
        else:
            names.add(f'{item.__module__}.{item.__qualname__}')
    return names


def trust_checkpoint(path: str) -> None:
    """Allow arbitrary pickled objects in the checkpoint at ``path``.

    Only for files from a source you trust: unpickling can run any code.
    """
    _trusted_paths.add(osp.realpath(osp.expanduser(path)))


def is_trusted(path: str) -> bool:
    """Whether ``path`` was marked trusted in Python or in the env var."""
    path = osp.realpath(osp.expanduser(path))
    env = os.environ.get(TRUSTED_ENV, '')
    env_paths = {
        osp.realpath(osp.expanduser(p))
        for p in env.split(os.pathsep) if p
    }
    return path in _trusted_paths or path in env_paths


class _DisallowedGlobal(UntrustedCheckpointError):
    """Raised by :class:`_AllowlistUnpickler` for a global off the list."""

    def __init__(self, name: str) -> None:
        super().__init__(f'Unsupported global: {name}')
        self.name = name


def _torch_tensor_globals() -> Dict[str, Any]:
    """The globals torch's own ``weights_only`` unpickler allows (tensor,
    parameter and dtype rebuilding), by pickled name."""
    from torch import _weights_only_unpickler
    allowed = dict(_weights_only_unpickler._get_allowed_globals())
    # Protocol 2 (torch.save's) pickles ``bytes`` as
    # ``_codecs.encode(str, 'latin1')``, e.g. inside numpy arrays; torch's
    # own allowlist has it from 2.4 on.
    import _codecs
    allowed['_codecs.encode'] = _codecs.encode
    return allowed


class _AllowlistUnpickler(pickle.Unpickler):
    """Resolves only torch's tensor globals and the checkpoint allowlist
    (the ``weights_only`` load of a torch without ``safe_globals``)."""

    def find_class(self, module: str, name: str) -> Any:
        # Protocol 2 (torch.save's) writes Python 2 names, e.g.
        # ``__builtin__.getattr``; pickle's own find_class maps them back.
        import _compat_pickle
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        else:
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        key = f'{module}.{name}'
        allowed = _torch_tensor_globals()
        for item in checkpoint_safe_globals():
            if isinstance(item, tuple):
                allowed[item[1]] = item[0]
            else:
                allowed[f'{item.__module__}.{item.__qualname__}'] = item
        if key not in allowed:
            raise _DisallowedGlobal(key)
        return allowed[key]


class _AllowlistPickleModule:
    """A ``pickle_module`` for :func:`torch.load` that unpickles with
    :class:`_AllowlistUnpickler`."""
    __name__ = 'mmyoloms_allowlist_pickle'
    Unpickler = _AllowlistUnpickler

    @staticmethod
    def load(file, **kwargs):
        return _AllowlistUnpickler(file, **kwargs).load()


def _refusal(filename: str, what: str) -> UntrustedCheckpointError:
    return UntrustedCheckpointError(
        f'Refusing to load checkpoint {filename}: it holds {what}, '
        'which are not in mmyoloms\' allowlist of checkpoint types and '
        'could run arbitrary code when unpickled. If you trust this '
        f'file, opt in explicitly: set {TRUSTED_ENV}={filename} (or '
        'call mmyoloms.compat.trust_checkpoint(path), or pass '
        '--trust-checkpoint to tools/test.py).')


def load_checkpoint_file(filename: str,
                         map_location: Optional[Union[str, Callable]] = None):
    """Load a local checkpoint safely (mmengine's loader for local paths).

    Uses ``weights_only=True`` with ``safe_globals`` on torch >= 2.5 and
    :class:`_AllowlistUnpickler` on older torch: the same allowlist either
    way.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str or callable, optional): As in :func:`torch.load`.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: ``filename`` is not a file.
        UntrustedCheckpointError: it holds globals outside the allowlist
            and was not marked trusted.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    if is_trusted(filename):
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    if not has_torch_feature('safe_globals'):
        try:
            return torch.load(
                filename,
                map_location=map_location,
                pickle_module=_AllowlistPickleModule)
        except _DisallowedGlobal as err:
            raise _refusal(filename,
                           f'pickled objects of type(s) {[err.name]}') from err
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        try:
            found = torch.serialization.get_unsafe_globals_in_checkpoint(
                filename)
            unknown = sorted(set(found) - _allowed_names())
        except Exception:  # not a zip checkpoint: report torch's message
            unknown = []
        what = (f'pickled objects of type(s) {unknown}'
                if unknown else f'content torch refuses ({err})')
        raise _refusal(filename, what) from err


class AdamWFusedOnlyWhereSupported(torch.optim.AdamW):
    """:class:`torch.optim.AdamW` that asks for the fused kernel only
    where this torch has it.

    Before torch 2.4 the fused AdamW runs on CUDA tensors only; asked for
    CPU parameters it raises. Here ``fused=True`` then falls back to the
    plain AdamW (same update) and says so once in the log. :func:`apply`
    registers it as ``AdamW`` on such a torch, so configs that set
    ``optimizer=dict(type='AdamW', fused=True)`` train on every supported
    torch.
    """

    def __init__(self, params, *args, fused: Optional[bool] = None,
                 **kwargs) -> None:
        params = list(params)
        if fused and not has_torch_feature('cpu_fused_adamw'):
            tensors = []
            for group in params:
                if isinstance(group, dict):
                    group = group['params']
                    tensors += ([group] if isinstance(group, torch.Tensor)
                                else list(group))
                else:
                    tensors.append(group)
            if not all(t.is_cuda for t in tensors):
                log_fallback(
                    'cpu_fused_adamw',
                    'AdamW(fused=True) on CPU parameters runs the plain '
                    'AdamW')
                fused = None
        super().__init__(params, *args, fused=fused, **kwargs)


def _init_dist_pytorch_on_cpu(backend: str = 'gloo',
                              init_backend: str = 'torch',
                              **kwargs) -> None:
    """mmengine's ``_init_dist_pytorch`` for a torch without CUDA.

    mmengine calls ``torch.cuda.set_device(LOCAL_RANK)`` before
    ``init_process_group``, which fails on a CPU-only torch build. Here the
    process group is made directly; ``nccl`` (GPU only) becomes ``gloo``.
    Rank and world size come from the launcher's environment, as in
    mmengine.
    """
    import torch.distributed as torch_dist
    if init_backend != 'torch':
        raise ValueError(f'init_backend={init_backend!r} needs GPUs; on '
                         'CPU only the torch backend (gloo) is supported')
    if backend == 'nccl':
        backend = 'gloo'
    torch_dist.init_process_group(backend=backend, **kwargs)


# The newest mmengine release known to need the fixes below (it loads
# checkpoints with a bare ``torch.load`` and initialises ``torch.distributed``
# through ``torch.cuda.set_device``). A newer mmengine is left as it is:
# whatever it does, it does on purpose.
MMENGINE_NEEDS_FIXES_UP_TO = '0.10.7'


def needs_fixes(mmengine_version: Optional[str] = None) -> bool:
    """Whether this mmengine (default: the installed one) needs the fixes."""
    from mmengine.utils import digit_version
    if mmengine_version is None:
        import mmengine
        mmengine_version = mmengine.__version__
    return digit_version(mmengine_version) <= digit_version(
        MMENGINE_NEEDS_FIXES_UP_TO)


def apply(mmengine_version: Optional[str] = None) -> List[str]:
    """Install the fixes that this mmengine and torch need; idempotent.

    Called on ``import mmyoloms``.

    Args:
        mmengine_version (str, optional): Version to decide for; defaults
            to the installed mmengine (an argument for tests).

    Returns:
        list[str]: Names of the fixes installed by this call (empty when
        none is needed or they are in place already):
        ``dist_pytorch_on_cpu`` (torch without CUDA),
        ``safe_checkpoint_loader`` and, on torch < 2.4,
        ``adamw_fused_only_where_supported``.
    """
    global _applied
    if _applied or not needs_fixes(mmengine_version):
        return []
    installed = []
    # Distributed training on CPU (gloo, e.g. tools/dist_train.sh CONFIG 2
    # on a machine without GPUs).
    if not torch.cuda.is_available():
        import mmengine.dist.utils as dist_utils
        from mmengine.device import (is_mlu_available, is_musa_available,
                                     is_npu_available)
        if not (is_mlu_available() or is_npu_available()
                or is_musa_available()):
            dist_utils._init_dist_pytorch = _init_dist_pytorch_on_cpu
            installed.append('dist_pytorch_on_cpu')
    # Every local checkpoint goes through the allowlist: on torch >= 2.6
    # mmengine's bare torch.load refuses mmengine's own checkpoints, before
    # it unpickles anything (so arbitrary code).
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_checkpoint_file, force=True)
    installed.append('safe_checkpoint_loader')
    if not has_torch_feature('cpu_fused_adamw'):
        import mmengine.optim  # noqa: F401  registers torch's optimizers
        from mmengine.registry import OPTIMIZERS
        OPTIMIZERS.register_module(
            name='AdamW', module=AdamWFusedOnlyWhereSupported, force=True)
        installed.append('adamw_fused_only_where_supported')
    _applied = True
    return installed
