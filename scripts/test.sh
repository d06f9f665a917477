#!/usr/bin/env bash
# The test command: set up everything the tests need on this machine (see setup.sh),
# then lint, type-check and run the whole suite against the real Docker engine and sshd.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -x`.
#
# `bash scripts/test.sh --fast [pytest args]`: for contributors between edits. Lint,
# type-check and the unit and in-process tests only (FAST below): no setup.sh, no
# dist build, no Docker (DOCKER_HOST points nowhere, so a test that reaches for the
# engine fails instead of quietly using it). CI runs the full command, without --fast.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FAASCTL_VENV:-$PWD/.venv}
# Tests that need no Docker, sshd, rsync or dist/faasctl: all of tests/unit, plus the
# in-process integration tests named here.
FAST=(tests/unit tests/integration/test_ssh_fanout.py tests/dashboard/test_app.py tests/dashboard/test_rows.py
      tests/dashboard/test_cli.py)
fast=0
if [ "${1:-}" = "--fast" ]; then fast=1; shift; fi
if [ "$fast" = 0 ]; then
  bash scripts/setup.sh
  echo "==> dist/faasctl (the single file; tests/e2e/test_single_file.py runs it)"
  bash scripts/dist.sh
fi
echo "==> ruff"
"$VENV/bin/ruff" check .
echo "==> mypy"
"$VENV/bin/mypy" faasctl agent/faasctl_agent bench scripts
"$VENV/bin/mypy" --strict faasctl agent/faasctl_agent  # the packages themselves: strict
echo "==> pytest"
if [ "$fast" = 1 ]; then
  [ $# -gt 0 ] || set -- "${FAST[@]}"
  DOCKER_HOST=unix:///nonexistent/faasctl-fast-lane.sock "$VENV/bin/pytest" "$@"
else
  "$VENV/bin/pytest" "${@:-tests}"
fi
