#!/usr/bin/env bash
# Set up (first time, Chromium included) and run every check: ruff, mypy, the docs site, ESLint and the frontend's unit
# tests, then pytest's unit, integration, browser and package tests.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh" --browser
cd "$ROOT"
ruff check .
ruff format --check .
mypy  # configured in pyproject.toml: strict on the public modules
# The docs site (mkdocs.yml): a broken link, anchor or API reference entry fails; quiet on success.
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet
npm run --silent lint  # eslint.config.js: the components' JavaScript and its tests
"$REFLEX_BUN_PATH" test ./tests/frontend  # the frontend's pure functions
exec pytest "$@"
