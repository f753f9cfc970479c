#!/usr/bin/env bash
# Sluice side by side with Mosquitto (Debian), Moquette (Maven Central, own JVM) and a raw Netty forwarder,
# on loopback; writes docs/benchmarks.md. Default: a few minutes. --full: TCP too, STOMP, 4 KiB, storm,
# 10,000 idle connections, longer runs. Other flags go to the runner (--rounds N, --duration S, --out FILE).
# Not part of mvn verify: it takes the whole machine for minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== building server/target/sluice.jar and benchmarks/target/benchmarks.jar"
mvn -o -q -B package -DskipTests -pl server,benchmarks -am || mvn -q -B package -DskipTests -pl server,benchmarks -am

if ! command -v mosquitto >/dev/null 2>&1; then
  echo "== installing Mosquitto from Debian"
  apt-get install -y mosquitto >/dev/null || { apt-get update >/dev/null && apt-get install -y mosquitto >/dev/null; }
fi

echo "== resolving Moquette's classpath"
mvn -o -q -B -f benchmarks/peers/moquette/pom.xml dependency:build-classpath \
    -Dmdep.outputFile="$PWD/benchmarks/target/moquette.classpath" \
  || mvn -q -B -f benchmarks/peers/moquette/pom.xml dependency:build-classpath \
    -Dmdep.outputFile="$PWD/benchmarks/target/moquette.classpath"

exec java -jar benchmarks/target/benchmarks.jar side-by-side \
  --moquette-classpath benchmarks/target/moquette.classpath \
  --out docs/benchmarks.md --command "benchmarks/run-side-by-side.sh" "$@"
