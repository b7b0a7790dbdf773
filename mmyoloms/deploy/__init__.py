"""Deploy mode, ONNX export with NMS, onnxruntime inference, benchmarks."""
from .deploy import deploy_model
from .end2end import OUTPUT_NAMES, End2EndDetector, nms_settings
from .export import EXPORTERS, export_onnx
from .fuse import count_batch_norms, fold_batch_norms, fuse_conv_bn_weights
from .nms import multiclass_nms, onnx_nms
from .ort import ORTDetector, make_session
from .pipeline import build_test_pipeline, preprocess
from .utils import build_detector, calibrate_batch_norms, load_config

__all__ = [
    'deploy_model', 'End2EndDetector', 'nms_settings', 'OUTPUT_NAMES',
    'export_onnx', 'EXPORTERS', 'fold_batch_norms', 'count_batch_norms',
    'fuse_conv_bn_weights', 'multiclass_nms', 'onnx_nms', 'ORTDetector',
    'make_session', 'build_test_pipeline', 'preprocess', 'build_detector',
    'calibrate_batch_norms', 'load_config'
]
