#!/usr/bin/env bash
# Sluice side by side with Mosquitto (Debian) and HiveMQ CE (Maven Central, own JVM), optionally Moquette and a
# raw Netty forwarder (--peers mosquitto,hivemq,moquette,raw), on loopback; writes docs/benchmarks.md.
# Default: the standard run (20 s measured per run, three rounds; --dry-run prints its plan and duration).
# --smoke: a few minutes, a check of the instrument. Other flags go to the runner (--help lists them).
# Not part of mvn verify: it takes the whole machine for a long time.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== building server/target/sluice.jar and benchmarks/target/benchmarks.jar"
mvn -o -q -B package -DskipTests -pl server,benchmarks -am || mvn -q -B package -DskipTests -pl server,benchmarks -am

if ! command -v mosquitto >/dev/null 2>&1; then
  echo "== installing Mosquitto from Debian"
  apt-get install -y mosquitto >/dev/null || { apt-get update >/dev/null && apt-get install -y mosquitto >/dev/null; }
fi

# each peer JVM gets its own classpath (its own Netty), resolved from a pom that is not a module of the build
for peer in hivemq moquette; do
  if [[ "$peer" == moquette && " $* " != *moquette* ]]; then
    continue
  fi
  echo "== resolving ${peer}'s classpath"
  mvn -o -q -B -f "benchmarks/peers/$peer/pom.xml" dependency:build-classpath \
      -Dmdep.outputFile="$PWD/benchmarks/target/$peer.classpath" \
    || mvn -q -B -f "benchmarks/peers/$peer/pom.xml" dependency:build-classpath \
      -Dmdep.outputFile="$PWD/benchmarks/target/$peer.classpath"
done

exec java -jar benchmarks/target/benchmarks.jar side \
  --hivemq-classpath benchmarks/target/hivemq.classpath \
  --moquette-classpath benchmarks/target/moquette.classpath \
  --out docs/benchmarks.md --command "benchmarks/run-side-by-side.sh" "$@"
