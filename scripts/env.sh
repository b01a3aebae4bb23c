# Environment shared by the run and test scripts (sourced, not executed).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.venv/bin:$PATH"
# Reflex cannot download bun on a locked-down host: it comes from the npm registry (scripts/setup.sh).
export REFLEX_BUN_PATH="$ROOT/.tools/node_modules/.bin/bun"
export BUN_INSTALL_CACHE_DIR="$ROOT/.tools/bun-cache"
export REFLEX_TELEMETRY_ENABLED=false
export REFLEX_CHECK_LATEST_VERSION=false
export PYTHONUNBUFFERED=1
