#!/usr/bin/env bash
# Build dist/faasctl, the single file an operator copies to a laptop (see scripts/dist.py).
# Needs python3 (3.10+) and the package index; no Docker. Uses the project's virtualenv
# when there is one, else a small build-only virtualenv under build/.
#   bash scripts/dist.sh            # dist/faasctl
#   bash scripts/dist.sh --macos    # also dist/faasctl-macos-arm64 (built, not run here)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FAASCTL_VENV:-$PWD/.venv}
if [ ! -x "$VENV/bin/python" ]; then
  VENV=$PWD/build/venv
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import pex, packaging, setuptools' 2>/dev/null; then
  echo "==> installing the build tools (pex, packaging) into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "pex>=2.50,<3" packaging setuptools
fi
exec "$VENV/bin/python" scripts/dist.py "$@"
