"""Deploy mode, ONNX export with NMS, onnxruntime and OpenVINO inference
(float32 and INT8), COCO evaluation of deployed graphs (their latency is
measured by :mod:`mmyoloms.profiling`)."""
from .deploy import deploy_model
from .detector import DeployedDetector, dataset_meta
from .end2end import OUTPUT_NAMES, End2EndDetector, nms_settings
from .export import EXPORTERS, export_onnx
from .fuse import count_batch_norms, fold_batch_norms, fuse_conv_bn_weights
from .nms import multiclass_nms, onnx_nms
from .ort import ORTDetector, make_session
from .ov import OVDetector, compile_openvino, convert_to_openvino
from .pipeline import build_test_pipeline, preprocess
from .quantize import (CalibrationInputs, calibration_indices,
                       calibration_inputs, quantize_model,
                       quantize_onnxruntime, quantize_openvino)
from .slice_free import SliceFreeSplitBlock, remove_channel_slicing
from .utils import build_detector, calibrate_batch_norms, load_config

__all__ = [
    'deploy_model', 'End2EndDetector', 'nms_settings', 'OUTPUT_NAMES',
    'export_onnx', 'EXPORTERS', 'fold_batch_norms', 'count_batch_norms',
    'fuse_conv_bn_weights', 'multiclass_nms', 'onnx_nms', 'DeployedDetector',
    'dataset_meta', 'ORTDetector', 'make_session', 'OVDetector',
    'compile_openvino', 'convert_to_openvino', 'build_test_pipeline',
    'preprocess', 'CalibrationInputs', 'calibration_indices',
    'calibration_inputs', 'quantize_model',
    'quantize_onnxruntime', 'quantize_openvino', 'SliceFreeSplitBlock',
    'remove_channel_slicing', 'build_detector', 'calibrate_batch_norms',
    'load_config'
]
