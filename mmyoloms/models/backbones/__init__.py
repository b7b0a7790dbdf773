from .yoloms_backbone import YOLOMSBackbone
from .yolov6_ms_backbone import YOLOv6MSBackbone
from .yolov8_ms_backbone import YOLOv8MSBackbone

__all__ = ['YOLOMSBackbone', 'YOLOv6MSBackbone', 'YOLOv8MSBackbone']
