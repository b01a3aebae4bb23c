#!/usr/bin/env bash
# Set up (first time, Chromium included) and run every check: ruff, mypy, unit, integration, browser and package tests.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh" --browser
cd "$ROOT"
ruff check .
ruff format --check .
mypy  # configured in pyproject.toml: strict on the public modules
exec pytest "$@"
