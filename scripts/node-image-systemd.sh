#!/usr/bin/env bash
# Build faasctl/node-systemd:test: the SSH test node (scripts/node-image.sh) with systemd
# as its init, so tests can check that bootstrap runs the agent as a systemd service.
# It runs unprivileged:
#   docker run -d --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
#     -e AUTHORIZED_KEY="$(cat key.pub)" -p 127.0.0.1::22 faasctl/node-systemd:test
# Idempotent: skipped when an image of this exact recipe exists.
set -euo pipefail
IMAGE=${FAASCTL_SYSTEMD_NODE_IMAGE:-faasctl/node-systemd:test}
NODE_IMAGE=${FAASCTL_NODE_IMAGE:-faasctl/node:test}
context=$(mktemp -d /tmp/faasctl-node-systemd.XXXXXX)
trap 'rm -rf "$context"' EXIT

cat >"$context/Dockerfile" <<DOCKERFILE
FROM $NODE_IMAGE
ENV container=docker
RUN export DEBIAN_FRONTEND=noninteractive \\
 && apt-get update -qq \\
 && apt-get install -y -qq --no-install-recommends systemd systemd-sysv >/dev/null \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \\
 && rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub \\
 && (systemctl enable ssh >/dev/null 2>&1 || true)
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
DOCKERFILE

recipe=$( (cat "$context/Dockerfile"; docker image inspect --format '{{.Id}}' "$NODE_IMAGE") | sha256sum | cut -c1-16)
if [ "$(docker image inspect --format '{{ index .Config.Labels "faasctl.recipe" }}' "$IMAGE" 2>/dev/null || true)" = "$recipe" ]; then
  printf '\033[1m==> %s\033[0m\n' "systemd node image $IMAGE present"
  exit 0
fi
printf '\033[1m==> %s\033[0m\n' "building systemd node image $IMAGE (apt-get inside the build)"
if ! docker build --force-rm --label "faasctl.recipe=$recipe" -t "$IMAGE" "$context" >"$context/build.log" 2>&1; then
  tail -n 30 "$context/build.log" >&2
  echo "building $IMAGE failed" >&2
  exit 1
fi
