#!/usr/bin/env bash
# The whole test suite against real infrastructure: starts (and on a bare Debian
# machine, as root, installs) the Docker engine, registry, PostgreSQL, Redis and
# Pebble through scripts/infra.sh, then runs vitest. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then
  npm ci
fi
bash scripts/infra.sh
npx vitest run "$@"
