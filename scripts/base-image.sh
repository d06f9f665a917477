#!/usr/bin/env bash
# Build an offline Debian base image faasctl/base:SUITE (python3 only) with debootstrap
# and `docker import`: there is no image registry to pull from. setup.sh builds
# faasctl/base:bookworm itself (with python3-pip); this script adds older suites for
# nodes with an older Python, e.g. bullseye (Python 3.9) for tests/e2e/test_single_file.py.
#
#   bash scripts/base-image.sh bullseye      # -> faasctl/base:bullseye (about a minute)
#
# Idempotent: skips the build when the image exists (FAASCTL_BASE_REBUILD=1 forces one).
set -euo pipefail

SUITE=${1:?usage: base-image.sh SUITE [IMAGE]}
IMAGE=${2:-faasctl/base:$SUITE}
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ "${FAASCTL_BASE_REBUILD:-0}" != 1 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "base image $IMAGE present"
  exit 0
fi

say "building offline base image $IMAGE with debootstrap $SUITE (about a minute)"
dir=$(mktemp -d "/tmp/faasctl-rootfs-$SUITE.XXXXXX")
log=/tmp/faasctl-debootstrap-$SUITE.log
trap '$SUDO rm -rf "$dir"' EXIT
if ! $SUDO debootstrap --variant=minbase --include=python3 "$SUITE" "$dir" >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "debootstrap $SUITE failed (full log: $log)" >&2
  exit 1
fi
$SUDO rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
$SUDO tar -C "$dir" -c . | docker import - "$IMAGE" >/dev/null
say "built $IMAGE"
