"""High-level APIs: inference backends (and the demo's orchestration)."""
from .inference import (BACKENDS, OnnxruntimeBackend, OpenVINOBackend,
                        PytorchBackend, collect_images, detect_and_draw,
                        init_backend, to_records)

__all__ = [
    'BACKENDS', 'PytorchBackend', 'OnnxruntimeBackend', 'OpenVINOBackend',
    'init_backend', 'collect_images', 'to_records', 'detect_and_draw'
]
