#!/usr/bin/env bash
# Installs the npm dependencies (from package-lock.json) when node_modules is absent or older than the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
