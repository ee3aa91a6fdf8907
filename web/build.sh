#!/usr/bin/env bash
# Builds the browser page into web/dist/ (what `runbox serve` serves): npm packages pinned by
# package-lock.json (npm ci), bundled by esbuild (build.mjs). Needs node and npm.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
node build.mjs "$@"
