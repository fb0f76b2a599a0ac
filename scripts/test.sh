#!/usr/bin/env bash
# Every test: unit tests of lib/, nodes in a real Node-RED runtime, all against a real Orthanc and
# real DCMTK peers, and the editor in Chromium. Ends with the line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh --with-browser
bash scripts/node-deps.sh
npm run build --silent
exec npx mocha 'dist/test/**/*.test.js' "$@"
