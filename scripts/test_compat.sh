#!/usr/bin/env bash
# make test-compat: for each row of the support matrix in ROWS (default:
# oldest newest), create or update its venv (scripts/setup.sh ROW=...),
# check that installing mmyoloms into it keeps its torch and mmcv
# (scripts/check_install.py), and run the compat subset (COMPAT_TESTS,
# defined once in the Makefile) in it. PYTHON_OLDEST / PYTHON_NEWEST are the
# rows' interpreters (default: python3.10 / python3.12 on PATH). Prints each step's wall time and a
# summary; exits non-zero if any row fails.
set -uo pipefail

ROWS=${ROWS:-oldest newest}
: "${COMPAT_TESTS:?COMPAT_TESTS must name the test files (the Makefile sets it)}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
cd "$REPO"

summary=()
status=0
for row in $ROWS; do
    case "$row" in
        oldest) venv=.venv-oldest python=${PYTHON_OLDEST:-python3.10} ;;
        newest) venv=.venv-newest python=${PYTHON_NEWEST:-python3.12} ;;
        default) venv=.venv python=${PYTHON_DEFAULT:-python3} ;;
        *) echo "ROWS: each row must be oldest, default or newest; got '$row'" >&2; exit 2 ;;
    esac
    result=ok
    t0=$SECONDS
    if ! ROW=$row VENV=$venv PYTHON=$python bash scripts/setup.sh; then
        result="setup failed"
    fi
    t1=$SECONDS
    if [ "$result" = ok ] && ! "$venv/bin/python" scripts/check_install.py; then
        result="install check failed"
    fi
    t2=$SECONDS
    if [ "$result" = ok ]; then
        # pytest exits 5 when it collects no test: a failure here too.
        "$venv/bin/python" -m pytest -p no:randomly $COMPAT_TESTS
        rc=$?
        [ $rc -eq 0 ] || result="pytest exit $rc"
    fi
    t3=$SECONDS
    line="$row ($venv): $result; setup $((t1 - t0)) s, install check $((t2 - t1)) s, tests $((t3 - t2)) s"
    echo "[test-compat] $line"
    summary+=("$line")
    [ "$result" = ok ] || status=1
done
echo "[test-compat] summary:"
printf '  %s\n' "${summary[@]}"
exit $status
