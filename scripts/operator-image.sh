#!/usr/bin/env bash
# Build faasctl/operator:test, a bare operator machine for tests/e2e/test_single_file.py:
# Debian bookworm with python3 and nothing else faasctl could lean on: no pip (purged,
# and checked: `python3 -m pip` must fail), no ssh client, no rsync, no checkout. The
# test copies dist/faasctl in and runs it there, on a docker network with no route out.
#
# Idempotent: skips the build when an image built from this exact recipe exists
# (the recipe's hash is stored as a label). FAASCTL_OPERATOR_REBUILD=1 forces one.
set -euo pipefail

IMAGE=${FAASCTL_OPERATOR_IMAGE:-faasctl/operator:test}
BASE_IMAGE=${FAASCTL_BASE_IMAGE:-faasctl/base:bookworm}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

context=$(mktemp -d /tmp/faasctl-operator-image.XXXXXX)
trap 'rm -rf "$context"' EXIT

# dpkg alone (no apt-get update, no network): purge pip and what only it pulled in.
cat >"$context/Dockerfile" <<EOF
FROM $BASE_IMAGE
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LANG=C.UTF-8 \\
    HOME=/root
RUN export DEBIAN_FRONTEND=noninteractive \\
 && apt-get purge -y -qq python3-pip python3-setuptools python3-wheel python3-pkg-resources >/dev/null \\
 && apt-get autoremove -y -qq --purge >/dev/null \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \\
 && ! python3 -m pip --version 2>/dev/null \\
 && for tool in pip pip3 ssh scp rsync; do if command -v \$tool; then exit 1; fi; done \\
 && python3 -c 'import sys; assert sys.version_info >= (3, 10), sys.version'
WORKDIR /root
CMD ["sleep", "infinity"]
EOF

recipe_hash=$( (cat "$context/Dockerfile"; docker image inspect --format '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || true) \
               | sha256sum | cut -c1-16)

if [ "${FAASCTL_OPERATOR_REBUILD:-0}" != 1 ] \
   && [ "$(docker image inspect --format '{{ index .Config.Labels "faasctl.recipe" }}' "$IMAGE" 2>/dev/null || true)" = "$recipe_hash" ]; then
  say "operator image $IMAGE present"
  exit 0
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "base image $BASE_IMAGE is missing; run scripts/setup.sh first" >&2
  exit 1
fi

say "building operator image $IMAGE from $BASE_IMAGE (python3 only, pip purged)"
log="$context/build.log"
if ! docker build --force-rm --label "faasctl.recipe=$recipe_hash" -t "$IMAGE" "$context" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "building $IMAGE failed" >&2
  exit 1
fi
say "built $IMAGE"
