#!/usr/bin/env bash
# The test command: set up everything the tests need on this machine (see setup.sh),
# then lint, type-check and run the whole suite against the real Docker engine and sshd.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${FAASCTL_VENV:-$PWD/.venv}
echo "==> dist/faasctl (the single file; tests/e2e/test_single_file.py runs it)"
bash scripts/dist.sh
echo "==> ruff"
"$VENV/bin/ruff" check .
echo "==> mypy"
"$VENV/bin/mypy" faasctl agent/faasctl_agent bench scripts
echo "==> pytest"
"$VENV/bin/pytest" "${@:-tests}"
