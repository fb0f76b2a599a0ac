#!/usr/bin/env bash
# The demo: a local Orthanc PACS seeded with sample studies, and Node-RED with this package and its
# example flows on http://127.0.0.1:1880. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/node-deps.sh
npm run build --silent
exec node dist/testbed/demo.js "$@"
