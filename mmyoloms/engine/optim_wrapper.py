"""Mixed precision on CPU: mmengine's AmpOptimWrapper requires a GPU."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from mmyolo.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """Runs forward and loss under ``torch.autocast('cpu', bfloat16)``.

    bfloat16 keeps float32's exponent range, so no loss scaling is needed
    (AmpOptimWrapper's GradScaler exists for float16).

    Args:
        dtype (str): ``'bfloat16'`` (the only dtype of CPU autocast).
        **kwargs: Passed to :class:`OptimWrapper`.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        if dtype != 'bfloat16':
            raise ValueError(f"dtype must be 'bfloat16' on CPU, got {dtype!r}")
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=self.cast_dtype):
            yield
