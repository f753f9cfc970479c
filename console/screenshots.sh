#!/usr/bin/env bash
# Regenerates the README's console screenshots (docs/img/console-*.png): runs the console test, which drives
# the console in headless Chromium against a broker under load from MQTT.js and stomp.js clients, with its
# screenshots pointed at docs/img. Needs what the test needs: Node.js 20+, npm, chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -pl conformance-tests -am verify -Dtest=ConsoleTest -Dsurefire.failIfNoSpecifiedTests=false \
  -Dsluice.requireAllClients=true -Dsluice.screenshotDir="$PWD/docs/img"
ls -l docs/img/console-*.png
