#!/usr/bin/env bash
# Set up (first time) and start the dashboard: http://localhost:3000
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
# Bounded malloc arenas keep a long-running backend's memory flat (bench/soak.py; docs/performance.md).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec reflex run "$@"
