"""Training-loop helpers: schedules (and hooks) used by configs and tools."""
from .schedule import rescale_schedule

__all__ = ['rescale_schedule']
