#!/usr/bin/env bash
# Set up the published Reactor software that the interop tests (tests/interop/) run against:
#   .venv-interop/          Python 3.12 venv with reactor-runtime 3.10.0 and reactor-sdk 1.13.0 (PyPI)
#   .tools/interop-npm/     @reactor-team/js-sdk 2.9.0 (npm registry)
# Needs only PyPI and the npm registry. Safe to run again: each part is skipped when already in place.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RUNTIME_VERSION=3.10.0
PY_SDK_VERSION=1.13.0
JS_SDK_VERSION=2.9.0
VENV=.venv-interop
NPM_PREFIX=.tools/interop-npm

find_python312() {
  if [ -n "${PYTHON312:-}" ]; then
    echo "$PYTHON312"
    return
  fi
  if command -v python3.12 >/dev/null 2>&1 && python3.12 -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
    command -v python3.12
    return
  fi
  local candidate
  for candidate in "$HOME"/.pyenv/versions/3.12*/bin/python /usr/bin/python3.12 /usr/local/bin/python3.12; do
    if [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
}

# --- Python side ---------------------------------------------------------------------------------
want_py="reactor-runtime==$RUNTIME_VERSION reactor-sdk==$PY_SDK_VERSION"
have_py() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "$RUNTIME_VERSION" "$PY_SDK_VERSION" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if (version("reactor-runtime"), version("reactor-sdk")) == (sys.argv[1], sys.argv[2]) else 1)
EOF
}
if ! have_py; then
  python312="$(find_python312)"
  if [ -z "$python312" ]; then
    echo "setup_interop.sh: no Python 3.12 interpreter found (reactor-runtime 3.x needs Python >= 3.12)." >&2
    echo "  Put python3.12 on PATH, install one with pyenv (~/.pyenv/versions/3.12.x), or set PYTHON312=/path/to/python3.12." >&2
    exit 2
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    "$python312" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  fi
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check $want_py
fi

# --- JavaScript side -----------------------------------------------------------------------------
js_pkg="$NPM_PREFIX/node_modules/@reactor-team/js-sdk/package.json"
if [ ! -f "$js_pkg" ] || ! grep -q "\"version\": \"$JS_SDK_VERSION\"" "$js_pkg"; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup_interop.sh: npm not found; it is needed to install @reactor-team/js-sdk@$JS_SDK_VERSION." >&2
    exit 2
  fi
  mkdir -p "$NPM_PREFIX"
  npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error --save-exact \
    "@reactor-team/js-sdk@$JS_SDK_VERSION"
fi

echo "interop: reactor-runtime $RUNTIME_VERSION + reactor-sdk $PY_SDK_VERSION in $VENV; @reactor-team/js-sdk $JS_SDK_VERSION in $NPM_PREFIX"
