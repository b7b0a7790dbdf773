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
"""
import os
import os.path as osp
import pickle
from typing import Any, Callable, List, Optional, Set, Tuple, Union

import torch

TRUSTED_ENV = 'MMYOLOMS_TRUSTED_CHECKPOINTS'

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


def load_checkpoint_file(filename: str,
                         map_location: Optional[Union[str, Callable]] = None):
    """Load a local checkpoint safely (mmengine's loader for local paths).

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
        raise UntrustedCheckpointError(
            f'Refusing to load checkpoint {filename}: it holds {what}, '
            'which are not in mmyoloms\' allowlist of checkpoint types and '
            'could run arbitrary code when unpickled. If you trust this '
            f'file, opt in explicitly: set {TRUSTED_ENV}={filename} (or '
            'call mmyoloms.compat.trust_checkpoint(path), or pass '
            '--trust-checkpoint to tools/test.py).') from err


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
        none is needed or they are in place already).
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
    # Before torch 2.5 weights_only is off by default (and safe_globals
    # does not exist), so mmengine's loader works as it is.
    if hasattr(torch.serialization, 'safe_globals'):
        from mmengine.runner.checkpoint import CheckpointLoader
        CheckpointLoader.register_scheme(
            prefixes='', loader=load_checkpoint_file, force=True)
        installed.append('safe_checkpoint_loader')
    _applied = True
    return installed
