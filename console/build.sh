#!/usr/bin/env bash
# Builds the console into the server jar's resources: npm ci (pinned by package-lock.json, npm registry only)
# and the esbuild bundle. Run by the Maven build of server/: build.sh <required> <output directory>.
# Without Node.js 20+ and npm the jar is built without the console (the admin API works; / says what to install),
# unless <required> is true (CI), which makes it a failure.
set -euo pipefail
required="${1:-false}"
out="${2:?output directory}"
cd "$(dirname "$0")"

. ../build-support/require-node.sh
require_node "$required" "the web console" \
  "the server jar is built without its web console (the admin API works; / says what to install)" || exit 0

# npm ci starts from scratch each time; skip it while node_modules was installed from this very lock file
stamp=node_modules/.sluice-lock
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --prefer-offline --loglevel=error > /dev/null
  echo "$lock_sum" > "$stamp"
fi
node build.mjs "$out"
