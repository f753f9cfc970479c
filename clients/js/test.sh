#!/usr/bin/env bash
# Run by the Maven build (after the server jar is packaged): npm ci from the committed package-lock.json, the
# esbuild bundles, then npm test against server/target/sluice.jar. test.sh <required>: without Node.js 20+ the
# tests are skipped with a message, unless <required> is true (as in .ci/run).
set -euo pipefail
required="${1:-false}"
cd "$(dirname "$0")"
. ../../build-support/require-node.sh
require_node "$required" "the @sluice/client tests" "the @sluice/client tests are skipped" || exit 0
npm ci --no-audit --no-fund --prefer-offline --loglevel=error
node build.mjs
SLUICE_REQUIRE_ALL_CLIENTS="$required" npm test
