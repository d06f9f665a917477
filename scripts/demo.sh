#!/usr/bin/env bash
# The demo: set up this machine, then run a local node, register the Python runtime,
# deploy the seed's dice function, invoke it and show the call. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="${FAASCTL_VENV:-$PWD/.venv}/bin:$PATH"
run() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
run faasctl node add local
run faasctl runtime add python
run faasctl fn deploy dice examples/dice --runtime python
run faasctl invoke dice -p roll=4d6
run faasctl invoke dice -p roll=4d6 --json
num=$(faasctl call list --json --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["callNum"])')
run faasctl call get "$num"
run faasctl call list --limit 5
run faasctl fn list
printf '\nDone. The platform keeps running; stop it with: %s/bin/faasctl node rm local\n' "${FAASCTL_VENV:-$PWD/.venv}"
