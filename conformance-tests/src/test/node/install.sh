#!/usr/bin/env bash
# Installs the pinned Node clients (npm ci from package-lock.json, npm registry only) and bundles MQTT.js and
# stomp.js for the browser page. Run by the Maven build before the tests: install.sh <required> <bundle dir>.
# Without Node.js/npm the Node and browser tests are skipped (they say so), unless <required> is true.
set -euo pipefail
required="${1:-false}"
bundle_dir="${2:?bundle output directory}"
cd "$(dirname "$0")"

# playwright-core needs Node.js 20 or later
missing=""
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing="Node.js and npm not found"
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  missing="Node.js $(node --version) is older than 20"
fi
if [ -n "$missing" ]; then
  install="Install Node.js 20+ with npm (from nodejs.org or NodeSource; Debian 12's own nodejs is 18)"
  if [ "$required" = "true" ]; then
    echo "ERROR: $missing, and -Dsluice.requireAllClients=true makes the MQTT.js, stomp.js and browser conformance tests mandatory. $install." >&2
    exit 1
  fi
  echo "WARNING: $missing: the MQTT.js, stomp.js and browser conformance tests will be skipped. $install to run them."
  exit 0
fi

npm ci --no-audit --no-fund --prefer-offline --loglevel=error
node bundle.mjs "$bundle_dir"
