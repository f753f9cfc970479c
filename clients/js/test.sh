#!/usr/bin/env bash
# Run by the Maven build (after the server jar is packaged): npm ci from the committed package-lock.json, the
# esbuild bundles, then npm test against server/target/sluice.jar. test.sh <required>: without Node.js 20+ the
# tests are skipped with a message, unless <required> is true (as in .ci/run).
set -euo pipefail
required="${1:-false}"
cd "$(dirname "$0")"
missing=""
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing="Node.js and npm not found"
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  missing="Node.js $(node --version) is older than 20"
fi
if [ -n "$missing" ]; then
  if [ "$required" = "true" ]; then
    echo "ERROR: $missing; -Dsluice.requireAllClients=true makes the @sluice/client tests mandatory. Install Node.js 20+." >&2
    exit 1
  fi
  echo "WARNING: $missing: the @sluice/client tests are skipped. Install Node.js 20+ to run them."
  exit 0
fi
npm ci --no-audit --no-fund --prefer-offline --loglevel=error
node build.mjs
SLUICE_REQUIRE_ALL_CLIENTS="$required" npm test
