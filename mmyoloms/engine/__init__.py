"""Training-loop parts: hooks and wrappers that make CPU training faster
without changing what is learned (profiling a training step is
:mod:`mmyoloms.profiling`)."""
from .hooks import *  # noqa: F401,F403
from .optim_wrapper import CPUAutocastOptimWrapper
from .schedule import rescale_schedule

__all__ = ['CPUAutocastOptimWrapper', 'rescale_schedule']
