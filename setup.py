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
    # tested with Python 3.11, torch 2.13.0, mmengine 0.10.7, mmcv 2.0.1,
    # mmdet 3.3.0, mmyolo 0.6.0 (scripts/setup.sh installs exactly these)
    python_requires='>=3.11',
    install_requires=[
        # torch.library.custom_op (the ONNX NMS op) needs torch >= 2.4
        'torch>=2.4',
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
        # versions checked with torch 2.13's exporters (onnxscript is the
        # dynamo exporter's dependency); OpenVINO runs the exported graphs,
        # NNCF quantizes them to INT8
        'deploy': ['onnx==1.23.2', 'onnxruntime==1.31.1',
                   'onnxscript==0.7.2', 'openvino==2026.4.1',
                   'nncf==3.4.0'],
    },
    zip_safe=False,
)
