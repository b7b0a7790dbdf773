#!/usr/bin/env bash
# The GPU check (docs/gpu.md), offline: installs the pinned wheelhouse of
# scripts/gpu_wheelhouse.txt into a venv when WHEELHOUSE is given, then runs
# tools/gpu_check.py with the arguments of this script.
#
#   WHEELHOUSE=wheelhouse bash scripts/gpu_check.sh            # install, check
#   bash scripts/gpu_check.sh --seeds 8 --sweep-minutes 10     # venv ready
#   bash scripts/gpu_check.sh --dry-run --out /tmp/gpu_check   # CPU plumbing
#
# Environment:
#   WHEELHOUSE  folder of the wheels that scripts/gpu_wheelhouse.txt lists;
#               given, they are installed with pip --no-index (no internet)
#   VENV        venv path (default: .venv-gpu); created with PYTHON when
#               WHEELHOUSE is given and it does not exist
#   PYTHON      interpreter for a new venv (default: python3.11)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
MANIFEST="$HERE/gpu_wheelhouse.txt"
VENV=${VENV:-.venv-gpu}
PYTHON=${PYTHON:-python3.11}

die() { printf '[gpu_check] error: %s\n' "$*" >&2; exit 2; }

if [ -n "${WHEELHOUSE:-}" ]; then
    [ -d "$WHEELHOUSE" ] || die "WHEELHOUSE=$WHEELHOUSE is not a folder"
    ls "$WHEELHOUSE"/mmcv-2.0.1-*.whl > /dev/null 2>&1 || die \
        "no mmcv-2.0.1-*.whl in $WHEELHOUSE: copy the CUDA build there (docs/gpu.md)"
    if [ ! -x "$VENV/bin/python" ]; then
        command -v "$PYTHON" > /dev/null || die "PYTHON=$PYTHON not found"
        "$PYTHON" -m venv "$VENV"
    fi
    PIP=("$VENV/bin/python" -m pip install -q --no-index --find-links "$WHEELHOUSE")
    # --no-deps: the manifest is the whole environment, pinned; resolving
    # it again fails (requirements/default.txt, which it copies, has rich
    # 15.0.0 beside openxlab/openmim pins that ask for older rich)
    "${PIP[@]}" --no-deps -r "$MANIFEST"
    # the package itself, from this checkout (its requirements are installed)
    "${PIP[@]}" --no-deps --no-build-isolation -e "$REPO"
fi
[ -x "$VENV/bin/python" ] || die \
    "no venv at $VENV: give WHEELHOUSE=folder to create it, or VENV=an existing one"
cd "$REPO"
exec "$VENV/bin/python" tools/gpu_check.py "$@"
