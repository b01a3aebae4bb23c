#!/usr/bin/env bash
# Set up (first time) and start the dashboard: http://localhost:3000
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
exec reflex run "$@"
