"""Mixed precision on CPU: mmengine's AmpOptimWrapper requires a GPU."""
from contextlib import contextmanager

import torch
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from mmyolo.registry import OPTIM_WRAPPERS
from mmyoloms.compat import log_fallback


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX512-BF16 or AMX
    tiles); without, oneDNN emulates bfloat16 and is slower than float32.

    A torch without the CPU feature queries (2.0 has neither) counts as
    "no": the caller then trains in float32 unless told otherwise, and the
    log says why.
    """
    queries = ('_is_avx512_bf16_supported', '_is_amx_tile_supported')
    if not all(hasattr(torch.cpu, q) for q in queries):
        log_fallback(
            'cpu_bf16_detection',
            'cannot tell whether this CPU has native bfloat16 (no '
            'torch.cpu._is_avx512_bf16_supported / _is_amx_tile_supported; '
            'the tested torch 2.13 has both): counted as not native')
        return False
    return bool(torch.cpu._is_avx512_bf16_supported()
                or torch.cpu._is_amx_tile_supported())


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """Runs forward and loss under ``torch.autocast('cpu', bfloat16)``.

    Convolutions and matrix products run in bfloat16, reductions such as
    the losses stay in float32 (PyTorch's CPU autocast policy); parameters,
    gradients and optimizer state stay float32. bfloat16 keeps float32's
    exponent range, so no loss scaling is needed (AmpOptimWrapper's
    GradScaler exists for float16).

    Args:
        dtype (str): ``'bfloat16'``, the only dtype of CPU autocast.
            Defaults to ``'bfloat16'``.
        native_only (bool): Autocast only on a CPU with native bfloat16
            instructions (:func:`cpu_has_native_bf16`) and train in float32
            elsewhere, where emulated bfloat16 is slower; the log says
            which. Defaults to True.
        **kwargs: Passed to :class:`OptimWrapper`.
    """

    def __init__(self,
                 dtype: str = 'bfloat16',
                 native_only: bool = True,
                 **kwargs) -> None:
        if dtype != 'bfloat16':
            raise ValueError(f"dtype must be 'bfloat16' on CPU, got {dtype!r}")
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16
        self.enabled = cpu_has_native_bf16() or not native_only
        print_log(
            'CPUAutocastOptimWrapper: ' +
            ('bfloat16 autocast' if self.enabled else
             'float32 (this CPU has no native bfloat16 instructions)'),
            logger='current')

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=self.cast_dtype, enabled=self.enabled):
            yield
