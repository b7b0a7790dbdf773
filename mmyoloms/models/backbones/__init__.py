from .yoloms_backbone import YOLOMSBackbone

__all__ = ['YOLOMSBackbone']
