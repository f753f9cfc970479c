#!/usr/bin/env bash
# Builds the console into the server jar's resources: npm ci (pinned by package-lock.json, npm registry only)
# and the esbuild bundle. Run by the Maven build of server/: build.sh <required> <output directory>.
# Without Node.js 20+ and npm the jar is built without the console (the admin API works; / says what to install),
# unless <required> is true (CI), which makes it a failure.
set -euo pipefail
required="${1:-false}"
out="${2:?output directory}"
cd "$(dirname "$0")"

missing=""
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing="Node.js and npm not found"
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  missing="Node.js $(node --version) is older than 20"
fi
if [ -n "$missing" ]; then
  install="Install Node.js 20+ with npm (from nodejs.org or NodeSource; Debian 12's own nodejs is 18)"
  if [ "$required" = "true" ]; then
    echo "ERROR: $missing, and -Dsluice.requireAllClients=true makes the web console mandatory. $install." >&2
    exit 1
  fi
  echo "WARNING: $missing: the server jar is built without its web console. $install to include it."
  exit 0
fi

# npm ci starts from scratch each time; skip it while node_modules was installed from this very lock file
stamp=node_modules/.sluice-lock
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --prefer-offline --loglevel=error > /dev/null
  echo "$lock_sum" > "$stamp"
fi
node build.mjs "$out"
