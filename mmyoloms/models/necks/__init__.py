from .smsl import SelectiveCombinationLayer, SMSL
from .yoloms_pafpn import YOLOMSPAFPN

__all__ = ['YOLOMSPAFPN', 'SMSL', 'SelectiveCombinationLayer']
