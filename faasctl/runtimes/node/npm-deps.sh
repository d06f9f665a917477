# The node runtime's dependency command (runtime.toml `dependencies`): installs the
# function's package.json once per distinct package.json/lockfile into /deps/node_modules.
# The code is mounted read-only, and npm writes node_modules beside package.json, so it
# works on a copy. No .bin links and local folders copied, not linked: a stem cell
# refuses symlinks, and a link into the copy would dangle once it is gone.
set -eu
deps=${FAAS_DEPS:-/deps}
work=$(mktemp -d /tmp/faasctl-npm.XXXXXX)
cp -R . "$work/"
cd "$work"
rm -rf node_modules
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false \
       npm_config_bin_links=false npm_config_install_links=true npm_config_cache=/tmp/npm-cache npm_config_loglevel=warn
if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then
  npm ci --omit=dev
else
  npm install --omit=dev --no-package-lock
fi
if [ -d node_modules ]; then
  cp -R node_modules "$deps/node_modules"
fi
