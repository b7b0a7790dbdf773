#!/usr/bin/env bash
# Creates a venv and installs the pinned OpenMMLab stack plus mmyoloms
# (editable), for one row of the support matrix (docs/install.md).
# Idempotent: every step checks what is already there. The mmcv wheel
# (compiled ops) is built once per (torch, Python) by scripts/build_mmcv.py
# (precompiled torch header, no debug info: about 2 min on 2 cores, 5x less
# CPU than a plain build) and cached outside the repo; docs/install.md has
# the measured costs.
#
# Environment:
#   ROW           a row of the support matrix: oldest | default | newest; it
#                 sets the defaults below and the constraints file
#                 requirements/ROW.txt (default: default)
#   PYTHON        interpreter for the venv (oldest: python3.10,
#                 default: python3, newest: python3.12; 3.10 to 3.12:
#                 mmcv 2.0.1's setup.py fails on 3.13)
#   VENV          venv path (oldest: .venv-oldest, default: .venv,
#                 newest: .venv-newest)
#   TORCH_SPEC    torch requirement (oldest: torch==2.0.1, default:
#                 torch==2.13.0, newest: torch==2.15.0); an installed torch
#                 that satisfies it is kept
#   EXTRAS        extras of mmyoloms to install (oldest: tests,onnx;
#                 otherwise tests,deploy)
#   CONSTRAINTS   pip constraints file (default: requirements/ROW.txt;
#                 "none" for none)
#   WHEEL_CACHE   mmcv wheel cache (default: ~/.cache/mmyoloms/wheels)
#   FORCE_CUDA=1  build mmcv's CUDA ops too (needs nvcc and a CUDA torch)
#   MAX_JOBS      parallel compile jobs of the mmcv build (default: nproc)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"

die() { printf '[setup] error: %s\n' "$*" >&2; exit 2; }
log() { printf '[setup] %s\n' "$*"; }

ROW=${ROW:-default}
case "$ROW" in
    oldest)  row_python=python3.10 row_torch='torch==2.0.1'
             row_venv=.venv-oldest row_extras=tests,onnx ;;
    default) row_python=python3 row_torch='torch==2.13.0'
             row_venv=.venv row_extras=tests,deploy ;;
    newest)  row_python=python3.12 row_torch='torch==2.15.0'
             row_venv=.venv-newest row_extras=tests,deploy ;;
    *) die "ROW must be one of oldest, default, newest; got '$ROW'" ;;
esac
PYTHON=${PYTHON:-$row_python}
VENV=${VENV:-$row_venv}
TORCH_SPEC=${TORCH_SPEC:-$row_torch}
EXTRAS=${EXTRAS:-$row_extras}
CONSTRAINTS=${CONSTRAINTS:-$REPO/requirements/$ROW.txt}
MMCV_VERSION=2.0.1
WHEEL_CACHE=${WHEEL_CACHE:-$HOME/.cache/mmyoloms/wheels}
SETUPTOOLS_SPEC='setuptools>=77,<81'

case "$TORCH_SPEC" in
    torch[=\<\>\!~]*) ;;
    *) die "TORCH_SPEC must be a torch requirement such as torch==2.0.1; got '$TORCH_SPEC'" ;;
esac
C_ARGS=()
if [ "$CONSTRAINTS" != none ]; then
    [ -f "$CONSTRAINTS" ] || die "CONSTRAINTS: no such file '$CONSTRAINTS' (or set CONSTRAINTS=none)"
    C_ARGS=(-c "$(cd "$(dirname "$CONSTRAINTS")" && pwd)/$(basename "$CONSTRAINTS")")
fi

py_version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) ||
    die "PYTHON: cannot run '$PYTHON' (give the interpreter's path, e.g. PYTHON=/usr/bin/python3.10)"
case "$py_version" in
    3.10|3.11|3.12) ;;
    *) die "PYTHON must be Python 3.10 to 3.12 (the tested range; mmcv 2.0.1's setup.py fails on 3.13: its get_version reads exec's result from locals()); '$PYTHON' is $py_version" ;;
esac

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi
PY="$(cd "$VENV" && pwd)/bin/python"
PIP="$PY -m pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
log "row $ROW: $($PY --version 2>&1) in $VENV, $TORCH_SPEC, extras [$EXTRAS], constraints ${C_ARGS[1]:-none}"

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

# Whether the installed torch satisfies TORCH_SPEC (a local version such as
# 2.13.0+cpu satisfies ==2.13.0).
have_torch() { $PY - "$TORCH_SPEC" <<'PYEOF'
import sys
from importlib import metadata
from packaging.requirements import Requirement
try:
    installed = metadata.version('torch')
except metadata.PackageNotFoundError:
    sys.exit(1)
sys.exit(0 if Requirement(sys.argv[1]).specifier.contains(
    installed, prereleases=True) else 1)
PYEOF
}

$PIP install -q "${C_ARGS[@]}" "$SETUPTOOLS_SPEC" wheel packaging

if ! have_torch; then
    log "installing $TORCH_SPEC"
    $PIP install -q "${C_ARGS[@]}" "$TORCH_SPEC"
fi

# openmim 0.3.9 pulls openxlab, which downgrades setuptools below torch's
# floor: install it first, then re-pin setuptools.
if ! have openmim 0.3.9; then
    log "installing openmim"
    $PIP install -q "${C_ARGS[@]}" openmim==0.3.9
fi
$PIP install -q "${C_ARGS[@]}" "$SETUPTOOLS_SPEC"

if ! have mmengine 0.10.7; then
    log "installing mmengine"
    $PIP install -q "${C_ARGS[@]}" mmengine==0.10.7
fi

# ninja drives the mmcv build (scripts/build_mmcv.py finds it in $VENV/bin).
if ! $PY -c 'import ninja' 2>/dev/null; then
    $PIP install -q "${C_ARGS[@]}" ninja
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
        # build_mmcv.py asks torch.utils.cpp_extension.get_cxx_compiler()
        # (torch >= 2.1) whether the compiler is GCC; on an older torch
        # the runner below gives it torch's own choice, $CXX or c++.
        if ! MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
                "$PY" - "$HERE/build_mmcv.py" "$BUILD/mmcv-$MMCV_VERSION" "$BUILD/dist" \
                > "$BUILD/build.log" 2>&1 <<'PYEOF'; then
import os
import runpy
import sys
from importlib import metadata

major, minor = (int(p) for p in metadata.version('torch').split('.')[:2])
if (major, minor) < (2, 1):
    from torch.utils import cpp_extension
    if not hasattr(cpp_extension, 'get_cxx_compiler'):
        cpp_extension.get_cxx_compiler = lambda: os.environ.get('CXX', 'c++')
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
PYEOF
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
    $PIP install -q "${C_ARGS[@]}" addict 'opencv-python>=3' pyyaml yapf
fi

if ! have mmdet 3.3.0; then
    log "installing mmdet"
    $PIP install -q "${C_ARGS[@]}" mmdet==3.3.0
fi
if ! have mmyolo 0.6.0; then
    log "installing mmyolo"
    $PIP install -q "${C_ARGS[@]}" mmyolo==0.6.0
fi

log "installing mmyoloms (editable) with extras [$EXTRAS]"
$PIP install -q "${C_ARGS[@]}" --no-build-isolation -e "$REPO[$EXTRAS]"
$PIP install -q "${C_ARGS[@]}" "$SETUPTOOLS_SPEC"

$PY - <<'PYEOF'
import mmcv, mmdet, mmengine, mmyolo, torch
from mmcv.ops import nms  # noqa: F401  compiled ops present
import mmyoloms
print(f'[setup] ok: torch {torch.__version__}, mmengine {mmengine.__version__}, '
      f'mmcv {mmcv.__version__}, mmdet {mmdet.__version__}, mmyolo {mmyolo.__version__}, '
      f'mmyoloms {mmyoloms.__version__}')
PYEOF
