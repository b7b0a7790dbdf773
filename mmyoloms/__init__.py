"""mmyoloms: YOLO-MS and multi-scale modules for MMYOLO / MMDetection.

Importing the package (as every config does through ``custom_imports``)
registers all modules in ``mmyolo.registry.MODELS`` and applies the
compatibility fixes of :mod:`mmyoloms.compat`.
"""
from . import compat
from .models import *  # noqa: F401,F403
from .datasets import *  # noqa: F401,F403
from . import engine  # noqa: F401  (registers hooks and wrappers)
from .version import __version__

compat.apply()

__all__ = ['__version__']
