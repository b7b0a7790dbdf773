from .curves import merge_runs, plot_training_curves, read_scalars
from .prediction_grid import (draw_detections, save_prediction_grid,
                              select_detections, tile_images)
from .score_threshold import f1_score_threshold

__all__ = [
    'merge_runs', 'plot_training_curves', 'read_scalars', 'draw_detections',
    'save_prediction_grid', 'select_detections', 'tile_images',
    'f1_score_threshold'
]
