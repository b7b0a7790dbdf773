#!/usr/bin/env bash
# Creates .venv and installs the pinned OpenMMLab stack plus mmyoloms (editable).
# Idempotent: every step checks what is already there. The mmcv wheel (compiled
# ops) is built once by scripts/build_mmcv.py (precompiled torch header, no
# debug info: about 2 min on 2 cores, 5x less CPU than a plain build) and
# cached outside the repo; docs/install.md has the measured costs.
#
# Environment:
#   PYTHON        interpreter for the venv (default: python3, must be 3.11)
#   VENV          venv path (default: .venv)
#   WHEEL_CACHE   mmcv wheel cache (default: ~/.cache/mmyoloms/wheels)
#   FORCE_CUDA=1  build mmcv's CUDA ops too (needs nvcc and a CUDA torch)
#   TORCH_SPEC    torch requirement (default: torch==2.13.0)
#   MAX_JOBS      parallel compile jobs of the mmcv build (default: nproc)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

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

# ninja drives the mmcv build (scripts/build_mmcv.py finds it in $VENV/bin).
if ! $PY -c 'import ninja' 2>/dev/null; then
    $PIP install -q ninja
fi

if ! have mmcv "$MMCV_VERSION"; then
    # The key names what mmcv's setup.py builds: CUDA ops when FORCE_CUDA=1
    # or when torch sees a GPU.
    TAG=$(FORCE_CUDA=${FORCE_CUDA:-0} $PY -c "
import os, sys, torch
v = sys.version_info
tag = f'mmcv$MMCV_VERSION-torch{torch.__version__.replace(\"+\", \"_\")}-cp{v.major}{v.minor}'
cuda = os.environ['FORCE_CUDA'] == '1' or torch.cuda.is_available()
print(tag + ('-cuda' if cuda else ''))")
    CACHE_DIR="$WHEEL_CACHE/$TAG"
    WHEEL=$(ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
    if [ -z "$WHEEL" ]; then
        log "building mmcv $MMCV_VERSION with compiled ops (2-3 min on 2 cores) -> $CACHE_DIR"
        started=$SECONDS
        BUILD=$(mktemp -d)
        trap 'rm -rf "$BUILD"' EXIT
        $PIP download -q --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$BUILD"
        tar -xzf "$BUILD"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD"
        if ! MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
                "$PY" "$HERE/build_mmcv.py" "$BUILD/mmcv-$MMCV_VERSION" "$BUILD/dist" \
                > "$BUILD/build.log" 2>&1; then
            tail -n 60 "$BUILD/build.log" >&2
            echo "[setup] the mmcv build failed (the last 60 lines of its log are above)" >&2
            exit 1
        fi
        if grep -q '\[-Winvalid-pch\]' "$BUILD/build.log"; then
            log "note: GCC did not use the precompiled torch header (slower build, same wheel)"
        fi
        BUILT=$(ls "$BUILD"/dist/mmcv-"$MMCV_VERSION"-*.whl)
        mkdir -p "$CACHE_DIR"
        # Copy, then rename: the cache never holds a partial wheel.
        cp "$BUILT" "$CACHE_DIR/.partial.$$"
        mv "$CACHE_DIR/.partial.$$" "$CACHE_DIR/$(basename "$BUILT")"
        WHEEL="$CACHE_DIR/$(basename "$BUILT")"
        log "built $WHEEL in $((SECONDS - started)) s"
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
