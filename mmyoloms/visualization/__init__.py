from .curves import (merge_runs, plot_training_curves, read_scalars,
                     run_scalars_files)
from .prediction_grid import (draw_detections, save_coco_prediction_grid,
                              save_prediction_grid, select_detections,
                              tile_images)
from .score_threshold import f1_score_threshold

__all__ = [
    'merge_runs', 'plot_training_curves', 'read_scalars',
    'run_scalars_files', 'draw_detections',
    'save_coco_prediction_grid', 'save_prediction_grid',
    'select_detections', 'tile_images',
    'f1_score_threshold'
]
