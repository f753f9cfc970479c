#!/usr/bin/env bash
# Installs the pinned Node clients (npm ci from package-lock.json, npm registry only) and bundles MQTT.js and
# stomp.js for the browser page. Run by the Maven build before the tests: install.sh <required> <bundle dir>.
# Without Node.js/npm the Node and browser tests are skipped (they say so), unless <required> is true.
set -euo pipefail
required="${1:-false}"
bundle_dir="${2:?bundle output directory}"
cd "$(dirname "$0")"

. ../../../../build-support/require-node.sh
require_node "$required" "the MQTT.js, stomp.js and browser conformance tests" \
  "the MQTT.js, stomp.js and browser conformance tests will be skipped" || exit 0

npm ci --no-audit --no-fund --prefer-offline --loglevel=error
node bundle.mjs "$bundle_dir"
