"""The GPU check (docs/gpu.md): train, validate, sweep and export on one
NVIDIA GPU, offline, and print what was measured.

    python tools/gpu_check.py [--out work_dirs/gpu_check] [--seeds 8]
        [--sweep-minutes 10] [--steps env speed val sweep onnx]
    python tools/gpu_check.py --dry-run --out /tmp/gpu_check   # CPU plumbing

Thin on purpose: the steps are mmyoloms.apis.gpu_check's.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmyoloms.apis.gpu_check import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
