from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open('mmyoloms/version.py', encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmyoloms',
    version=read_version(),
    description='YOLO-MS and multi-scale modules for MMYOLO and MMDetection',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmyoloms', 'mmyoloms.*']),
    # The support matrix (docs/install.md), each row tested with
    # `make test-compat` / `make test`: Python 3.10 + torch 2.0.1 (oldest),
    # Python 3.11 + torch 2.13.0 (default), Python 3.13 + torch 2.15.0
    # (newest), all with mmengine 0.10.7, mmcv 2.0.1, mmdet 3.3.0 and
    # mmyolo 0.6.0. The bounds below are the matrix's oldest row; nothing
    # is capped above, so installing into an environment that already has
    # torch and mmcv never replaces them. Each row's other versions are in
    # requirements/ROW.txt (pip constraints, read by scripts/setup.sh).
    python_requires='>=3.10',
    install_requires=[
        # newer torch features (torch.library.custom_op, the dynamo ONNX
        # exporter, safe_globals, CPU fused AdamW) degrade on older torch:
        # mmyoloms/compat.py
        'torch>=2.0.1',
        'mmengine>=0.10.0,<1.0.0',
        'mmcv>=2.0.0rc4,<2.1.0',
        'mmdet>=3.0.0,<4.0.0',
        'mmyolo>=0.5.0,<0.7.0',
        'pycocotools',
        # mmdet's Albu transform, in YOLOv8's (and YOLOv8-MS-n's) recipe
        'albumentations>=2.0.8,<2.1',
        'numpy',
    ],
    extras_require={
        'tests': ['pytest>=7', 'pytest-timeout', 'matplotlib', 'tqdm'],
        # ONNX export (either torch exporter) and onnxruntime: every row.
        # Lower bounds: the oldest versions a row was tested with.
        'onnx': ['onnx>=1.23.2', 'onnxruntime>=1.23.2'],
        # onnxscript is the dynamo exporter's dependency (torch >= 2.6);
        # OpenVINO runs the exported graphs, NNCF quantizes them to INT8
        # (default and newest rows).
        'deploy': ['onnx>=1.23.2', 'onnxruntime>=1.23.2',
                   'onnxscript>=0.7.2', 'openvino>=2026.4.1', 'nncf>=3.4.0'],
    },
    zip_safe=False,
)
