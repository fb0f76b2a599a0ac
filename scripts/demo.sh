#!/usr/bin/env bash
# The demo: a local Orthanc PACS seeded with sample studies, and Node-RED with this package and its
# example flows on http://127.0.0.1:1880. Ctrl-C stops both; so does the end of npm or this script,
# however they end (the demo gets SIGTERM when its parent dies).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/node-deps.sh
npm run build --silent
exec setpriv --pdeathsig TERM node dist/testbed/demo.js "$@"
