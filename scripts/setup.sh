#!/usr/bin/env bash
# Creates .venv and installs the pinned OpenMMLab stack plus mmyoloms (editable).
# Idempotent: every step checks what is already there. The mmcv wheel (compiled
# ops, ~8 min on 2 cores) is built once and cached outside the repo.
#
# Environment:
#   PYTHON        interpreter for the venv (default: python3, must be 3.11)
#   VENV          venv path (default: .venv)
#   WHEEL_CACHE   mmcv wheel cache (default: ~/.cache/mmyoloms/wheels)
#   FORCE_CUDA=1  build mmcv's CUDA ops too (needs nvcc and a CUDA torch)
#   TORCH_SPEC    torch requirement (default: torch==2.13.0)
set -euo pipefail

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
MMCV_VERSION=2.0.1
WHEEL_CACHE=${WHEEL_CACHE:-$HOME/.cache/mmyoloms/wheels}
SETUPTOOLS_SPEC='setuptools>=77,<81'

log() { printf '[setup] %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
PY="$(cd "$VENV" && pwd)/bin/python"
PIP="$PY -m pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1

have() { $PY - "$1" "$2" <<'PYEOF'
import sys
from importlib import metadata
try:
    ok = metadata.version(sys.argv[1]).split('+')[0] == sys.argv[2]
except metadata.PackageNotFoundError:
    ok = False
sys.exit(0 if ok else 1)
PYEOF
}

$PIP install -q "$SETUPTOOLS_SPEC" wheel packaging

if ! have torch 2.13.0; then
    log "installing $TORCH_SPEC"
    $PIP install -q "$TORCH_SPEC"
fi

# openmim 0.3.9 pulls openxlab, which downgrades setuptools below torch's
# floor: install it first, then re-pin setuptools.
if ! have openmim 0.3.9; then
    log "installing openmim"
    $PIP install -q openmim==0.3.9
fi
$PIP install -q "$SETUPTOOLS_SPEC"

if ! have mmengine 0.10.7; then
    log "installing mmengine"
    $PIP install -q mmengine==0.10.7
fi

if ! have mmcv "$MMCV_VERSION"; then
    TAG=$($PY -c "import sys, torch; v=sys.version_info; print(f'mmcv{\"$MMCV_VERSION\"}-torch{torch.__version__.replace(\"+\", \"_\")}-cp{v.major}{v.minor}')")
    if [ "${FORCE_CUDA:-0}" = "1" ]; then TAG="$TAG-cuda"; fi
    CACHE_DIR="$WHEEL_CACHE/$TAG"
    WHEEL=$(ls "$CACHE_DIR"/mmcv-*.whl 2>/dev/null | head -n 1 || true)
    if [ -z "$WHEEL" ]; then
        log "building mmcv $MMCV_VERSION with compiled ops (about 8 min on 2 cores) -> $CACHE_DIR"
        BUILD=$(mktemp -d)
        trap 'rm -rf "$BUILD"' EXIT
        $PIP download -q --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$BUILD"
        tar -xzf "$BUILD"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD"
        SRC="$BUILD/mmcv-$MMCV_VERSION"
        # torch >= 2.1 headers require C++17; mmcv 2.0.x hard-codes c++14.
        sed -i 's/-std=c++14/-std=c++17/g' "$SRC/setup.py"
        grep -q 'c++17' "$SRC/setup.py" || { echo "mmcv setup.py patch failed" >&2; exit 1; }
        $PIP install -q ninja
        mkdir -p "$CACHE_DIR"
        (cd "$SRC" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
            "$PY" -m pip wheel --no-build-isolation --no-deps -w "$CACHE_DIR" . ) \
            || { rm -rf "$CACHE_DIR"; exit 1; }
        WHEEL=$(ls "$CACHE_DIR"/mmcv-*.whl | head -n 1)
    else
        log "using cached mmcv wheel $WHEEL"
    fi
    $PIP install -q --no-deps "$WHEEL"
    $PIP install -q addict 'opencv-python>=3' pyyaml yapf
fi

if ! have mmdet 3.3.0; then
    log "installing mmdet"
    $PIP install -q mmdet==3.3.0
fi
if ! have mmyolo 0.6.0; then
    log "installing mmyolo"
    $PIP install -q mmyolo==0.6.0
fi

log "installing mmyoloms (editable) with test and deploy extras"
$PIP install -q --no-build-isolation -e ".[tests,deploy]"
$PIP install -q "$SETUPTOOLS_SPEC"

$PY - <<'PYEOF'
import mmcv, mmdet, mmengine, mmyolo, torch
from mmcv.ops import nms  # noqa: F401  compiled ops present
import mmyoloms
print(f'[setup] ok: torch {torch.__version__}, mmengine {mmengine.__version__}, '
      f'mmcv {mmcv.__version__}, mmdet {mmdet.__version__}, mmyolo {mmyolo.__version__}, '
      f'mmyoloms {mmyoloms.__version__}')
PYEOF
