#!/usr/bin/env bash
# Set up everything on a fresh machine: the Python virtualenv, its packages and reactor-web itself (editable),
# bun for Reflex and ESLint for the frontend (from the npm registry), and with --browser, the Debian packages the
# browser and cluster tests run.
# Safe to run again.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
# The package itself, editable, as a user's app would have it installed (its dependencies are pinned above).
if ! .venv/bin/python -c 'import importlib.metadata as m, sys; sys.exit(m.version("reactor-web") is None)' 2>/dev/null; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
fi

if [ ! -x .tools/node_modules/.bin/bun ]; then
  npm install --prefix .tools --no-audit --no-fund --loglevel=error bun@1.4.4
fi
# ESLint and the React hooks rules for the components' JavaScript (package.json, pinned by package-lock.json).
if [ ! -x node_modules/.bin/eslint ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# coturn: the TURN server the relay-only browser test (tests/e2e_turn) runs on loopback. redis-server and nginx:
# the shared state store and load balancer of the multi-worker and multi-host tests (tests/cluster_servers.py).
if [ "${1:-}" = "--browser" ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/turnserver ] \
  || [ ! -x /usr/bin/redis-server ] || [ ! -x /usr/sbin/nginx ]; }; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium coturn redis-server nginx
fi
