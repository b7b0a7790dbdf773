from .msfm import MSFM

__all__ = ['MSFM']
