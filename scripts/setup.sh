#!/usr/bin/env bash
# One idempotent set-up for a fresh Debian/Ubuntu machine (run as root or with sudo):
# system packages, a running Docker engine, the offline base image, the virtualenv.
# Each step checks first and skips what exists, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${FAASCTL_VENV:-$ROOT/.venv}
BASE_IMAGE=${FAASCTL_BASE_IMAGE:-faasctl/base:bookworm}
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v rsync >/dev/null || missing+=(rsync)
  command -v curl >/dev/null || missing+=(curl)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh >/dev/null || missing+=(openssh-client)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v tmux >/dev/null || missing+=(tmux)  # the dashboard's real-terminal test and bench
  command -v wrk >/dev/null || missing+=(wrk)  # bench/serve.py's load (C clients: never the bottleneck)
  # the state on PostgreSQL: tests/support/pgserver.py runs a throwaway server from these binaries
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing+=(postgresql)
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  if [ ${#missing[@]} -eq 0 ]; then say "system packages present"; return; fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_docker() {
  if docker info >/dev/null 2>&1; then say "docker engine running"; return; fi
  # A dockerd killed with its session leaves a pid file that blocks the next start.
  if [ -f /var/run/docker.pid ] && ! pgrep -x dockerd >/dev/null; then
    $SUDO rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
  fi
  if ! pgrep -x dockerd >/dev/null; then
    say "starting dockerd (published ports on loopback only)"
    $SUDO mkdir -p /var/log
    $SUDO setsid dockerd --ip 127.0.0.1 >/var/log/faasctl-dockerd.log 2>&1 < /dev/null &
  fi
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && { say "docker engine running"; return; }
    sleep 0.5
  done
  echo "dockerd did not answer within 60 s; see /var/log/faasctl-dockerd.log" >&2
  tail -n 20 /var/log/faasctl-dockerd.log >&2 || true
  exit 1
}

build_base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then say "base image $BASE_IMAGE present"; return; fi
  say "building offline base image $BASE_IMAGE with debootstrap (about a minute)"
  local dir; dir=$(mktemp -d /tmp/faasctl-rootfs.XXXXXX)
  $SUDO debootstrap --variant=minbase --include=python3,python3-pip bookworm "$dir" >/tmp/faasctl-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/faasctl-debootstrap.log >&2; exit 1; }
  $SUDO rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  $SUDO tar -C "$dir" -c . | docker import - "$BASE_IMAGE" >/dev/null
  $SUDO rm -rf "$dir"
}

make_venv() {
  local stamp="$VENV/.faasctl-stamp" want
  want=$(cat pyproject.toml agent/pyproject.toml | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then say "virtualenv $VENV up to date"; return; fi
  say "creating virtualenv $VENV with faasctl and faasctl-agent"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  # compat editable mode: a plain path entry, no import-hook finder to load at every start
  "$VENV/bin/pip" install -q --config-settings editable_mode=compat -e ./agent -e ".[dev,postgres]"
  echo "$want" >"$stamp"
}

install_packages
start_docker
build_base_image
bash scripts/node-image.sh  # the SSH node image the e2e tests start (tests/e2e)
bash scripts/node-image-systemd.sh  # the same with systemd as init (tests/e2e/test_systemd_node.py)
# tests/e2e/test_single_file.py: a Python 3.9 node (bullseye) and a bare operator (python3 only)
bash scripts/base-image.sh bullseye
FAASCTL_NODE_IMAGE=faasctl/node-bullseye:test FAASCTL_BASE_IMAGE=faasctl/base:bullseye bash scripts/node-image.sh
bash scripts/operator-image.sh
bash scripts/node-image-dind.sh  # the same with its own Docker engine and no base image (tests/e2e/test_image_carry.py)
make_venv
# The nodes' wheelhouse that `node add --host` sends (package data; rebuilt when agent/ changes).
"$VENV/bin/python" scripts/wheelhouse.py
# The built-in Node.js runtime image (tests/integration/test_node_runtime.py), as `runtime add node` tags it.
"$VENV/bin/python" scripts/runtime-images.py node
say "set-up done"
