from .memory_format_hook import MemoryFormatHook

__all__ = ['MemoryFormatHook']
