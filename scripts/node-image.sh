#!/usr/bin/env bash
# Build faasctl/node:test, a stand-in for a real faasctl node reached over SSH:
# sshd (root login by key only), rsync and python3-venv on top of the offline
# base image. The same recipe builds the Python 3.9 node from the bullseye base
# (OpenSSH 8.4 takes the same drop-in: its sshd_config includes sshd_config.d too):
#   FAASCTL_NODE_IMAGE=faasctl/node-bullseye:test FAASCTL_BASE_IMAGE=faasctl/base:bullseye \
#     bash scripts/node-image.sh
# Tests start one container per node and hand it a public key:
#   docker run -d -p 127.0.0.1::22 -e AUTHORIZED_KEY="$(cat key.pub)" faasctl/node:test
# Host keys are made at container start, so every node has its own.
#
# Idempotent: skips the build when an image built from this exact recipe exists
# (the recipe's hash is stored as a label, so editing this file triggers a rebuild).
# FAASCTL_NODE_REBUILD=1 forces one.
set -euo pipefail

NODE_IMAGE=${FAASCTL_NODE_IMAGE:-faasctl/node:test}
BASE_IMAGE=${FAASCTL_BASE_IMAGE:-faasctl/base:bookworm}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

context=$(mktemp -d /tmp/faasctl-node-image.XXXXXX)
trap 'rm -rf "$context"' EXIT

cat >"$context/Dockerfile" <<EOF
FROM $BASE_IMAGE
# The base image is a docker-import of a debootstrap tree: it has no config at all.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LANG=C.UTF-8
RUN export DEBIAN_FRONTEND=noninteractive \\
 && apt-get update -qq \\
 && apt-get install -y -qq --no-install-recommends openssh-server rsync python3-venv sudo >/dev/null \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \\
 && rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub \\
 && mkdir -p /run/sshd /root/.ssh \\
 && chmod 700 /root/.ssh
COPY sshd-faasctl.conf /etc/ssh/sshd_config.d/faasctl.conf
COPY entrypoint.sh /usr/local/sbin/faasctl-node-entrypoint
# Check the sshd config now (with a throw-away host key) rather than at first use.
RUN chmod 644 /etc/ssh/sshd_config.d/faasctl.conf \\
 && chmod 755 /usr/local/sbin/faasctl-node-entrypoint \\
 && ssh-keygen -q -t ed25519 -N '' -f /tmp/check_key \\
 && /usr/sbin/sshd -t -h /tmp/check_key \\
 && rm -f /tmp/check_key /tmp/check_key.pub
EXPOSE 22
ENTRYPOINT ["/usr/local/sbin/faasctl-node-entrypoint"]
CMD ["/usr/sbin/sshd", "-D", "-e"]
EOF

# sshd_config.d is included first and the first value wins, so this overrides Debian's defaults
# (except Subsystem, which may only be defined once: Debian's sftp-server line stays).
cat >"$context/sshd-faasctl.conf" <<'EOF'
Port 22
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
X11Forwarding no
EOF

cat >"$context/entrypoint.sh" <<'EOF'
#!/bin/sh
# Per-container set-up: fresh host keys and the caller's key, then exec sshd.
set -eu
ssh-keygen -A >/dev/null
mkdir -p /run/sshd /root/.ssh
chmod 700 /root/.ssh
if [ -n "${AUTHORIZED_KEY:-}" ]; then
  umask 077
  printf '%s\n' "$AUTHORIZED_KEY" >/root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
else
  echo "faasctl-node: AUTHORIZED_KEY is empty; nobody can log in" >&2
fi
exec "$@"
EOF

# Hash the recipe only (not the temp dir name) to decide whether a rebuild is needed.
recipe_hash=$( (cat "$context/Dockerfile" "$context/sshd-faasctl.conf" "$context/entrypoint.sh";
                docker image inspect --format '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || true) \
               | sha256sum | cut -c1-16)

if [ "${FAASCTL_NODE_REBUILD:-0}" != 1 ] \
   && [ "$(docker image inspect --format '{{ index .Config.Labels "faasctl.recipe" }}' "$NODE_IMAGE" 2>/dev/null || true)" = "$recipe_hash" ]; then
  say "node image $NODE_IMAGE present"
  exit 0
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "base image $BASE_IMAGE is missing; run scripts/setup.sh first" >&2
  exit 1
fi

say "building node image $NODE_IMAGE from $BASE_IMAGE (apt-get inside the build; seconds with a warm mirror)"
start=$SECONDS
log="$context/build.log"
if ! docker build --force-rm --label "faasctl.recipe=$recipe_hash" -t "$NODE_IMAGE" "$context" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "building $NODE_IMAGE failed" >&2
  exit 1
fi
# A suite whose sshd_config lacked the Include would ignore the drop-in and still pass
# `sshd -t`: check the effective settings, and drop an image that would allow passwords.
effective=$(docker run --rm --entrypoint sh "$NODE_IMAGE" -c \
  'ssh-keygen -q -t ed25519 -N "" -f /tmp/k && /usr/sbin/sshd -T -h /tmp/k' 2>&1 || true)
for want in "passwordauthentication no" "permitrootlogin without-password" "usepam no"; do
  if ! grep -qx "$want" <<<"$effective"; then
    docker image rm -f "$NODE_IMAGE" >/dev/null 2>&1 || true
    echo "$NODE_IMAGE: sshd does not apply the drop-in ($want missing from sshd -T); image removed" >&2
    exit 1
  fi
done
say "built $NODE_IMAGE in $((SECONDS - start)) s"
