from .smsl import SelectiveCombinationLayer, SMSL
from .yoloms_pafpn import YOLOMSPAFPN
from .yolov6_ms_pafpn import YOLOv6MSPAFPN
from .yolov8_ms_pafpn import YOLOv8MSPAFPN

__all__ = [
    'YOLOMSPAFPN', 'SMSL', 'SelectiveCombinationLayer', 'YOLOv6MSPAFPN',
    'YOLOv8MSPAFPN'
]
