#!/usr/bin/env bash
# Set up (first time, Chromium included) and run every check: ruff, unit, integration and browser tests.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh" --browser
cd "$ROOT"
ruff check .
ruff format --check .
exec pytest "$@"
