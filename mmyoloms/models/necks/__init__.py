from .yoloms_pafpn import YOLOMSPAFPN

__all__ = ['YOLOMSPAFPN']
