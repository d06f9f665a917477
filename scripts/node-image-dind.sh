#!/usr/bin/env bash
# Build faasctl/node-dind:test: the SSH test node (scripts/node-image.sh) with a Docker
# engine of its own instead of the host's socket. Its engine starts empty (no base image,
# no registry), so it stands for a node that can neither pull nor build a runtime image:
# faasctl has to carry the image there (tests/e2e/test_image_carry.py). It runs as
#   docker run -d --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
#     --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup \
#     -e AUTHORIZED_KEY="$(cat key.pub)" -p 127.0.0.1::22 faasctl/node-dind:test
# The entrypoint starts dockerd, waits for it, then runs sshd. /var/lib/docker is a
# volume so the nested engine's overlay2 does not sit on the container's own overlay.
# Idempotent: skipped when an image of this exact recipe exists.
set -euo pipefail
IMAGE=${FAASCTL_DIND_NODE_IMAGE:-faasctl/node-dind:test}
NODE_IMAGE=${FAASCTL_NODE_IMAGE:-faasctl/node:test}
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
context=$(mktemp -d /tmp/faasctl-node-dind.XXXXXX)
trap 'rm -rf "$context"' EXIT

cat >"$context/Dockerfile" <<DOCKERFILE
FROM $NODE_IMAGE
RUN export DEBIAN_FRONTEND=noninteractive \\
 && apt-get update -qq \\
 && apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY dind-entrypoint.sh /usr/local/sbin/faasctl-dind-entrypoint
RUN chmod 755 /usr/local/sbin/faasctl-dind-entrypoint
VOLUME /var/lib/docker
ENTRYPOINT ["/usr/local/sbin/faasctl-dind-entrypoint"]
CMD ["/usr/sbin/sshd", "-D", "-e"]
DOCKERFILE

cat >"$context/dind-entrypoint.sh" <<'EOF'
#!/bin/sh
# Start this node's own engine (bounded wait), then hand over to the SSH node's entrypoint.
set -eu
rm -f /var/run/docker.pid
dockerd --host unix:///var/run/docker.sock >/var/log/dockerd.log 2>&1 &
i=0
until docker info >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 120 ]; then
    echo "faasctl-node-dind: dockerd did not start within 60 s" >&2
    tail -n 30 /var/log/dockerd.log >&2
    exit 1
  fi
  sleep 0.5
done
exec /usr/local/sbin/faasctl-node-entrypoint "$@"
EOF

recipe=$( (cat "$context/Dockerfile" "$context/dind-entrypoint.sh"; docker image inspect --format '{{.Id}}' "$NODE_IMAGE") \
          | sha256sum | cut -c1-16)
if [ "${FAASCTL_NODE_REBUILD:-0}" != 1 ] \
   && [ "$(docker image inspect --format '{{ index .Config.Labels "faasctl.recipe" }}' "$IMAGE" 2>/dev/null || true)" = "$recipe" ]; then
  say "docker-in-docker node image $IMAGE present"
  exit 0
fi

say "building docker-in-docker node image $IMAGE from $NODE_IMAGE (apt-get docker.io inside the build)"
start=$SECONDS
log="$context/build.log"
if ! docker build --force-rm --label "faasctl.recipe=$recipe" -t "$IMAGE" "$context" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "building $IMAGE failed" >&2
  exit 1
fi
say "built $IMAGE in $((SECONDS - start)) s"
