from .curves import plot_training_curves, read_scalars
from .prediction_grid import (draw_detections, save_prediction_grid,
                              select_detections, tile_images)

__all__ = [
    'plot_training_curves', 'read_scalars', 'draw_detections',
    'save_prediction_grid', 'select_detections', 'tile_images'
]
