"""Training-loop parts: profiling of a training step, hooks and wrappers
that make CPU training faster without changing what is learned."""
from .hooks import *  # noqa: F401,F403
from .optim_wrapper import CPUAutocastOptimWrapper
from .schedule import rescale_schedule
from .train_profile import format_profile, profile_training

__all__ = [
    'CPUAutocastOptimWrapper', 'format_profile', 'profile_training',
    'rescale_schedule'
]
