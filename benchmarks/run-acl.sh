#!/usr/bin/env bash
# Publish throughput with a 1,000-rule ACL file against the same load without one (target: at least 90%).
# Each configuration runs twice, interleaved, on a fresh broker; the load generator's JSON lines go to
# benchmarks/target/acl/results.jsonl; on a shared machine compare the broker CPU per delivered message
# (broker_cpu_us_per_msg), which noise from other processes disturbs far less than the rates. Usage: benchmarks/run-acl.sh [seconds per run] [clients]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-8}
clients=${2:-10}
out=benchmarks/target/acl
mkdir -p "$out"
: > "$out/results.jsonl"
[ -f server/target/sluice.jar ] && [ -f benchmarks/target/benchmarks.jar ] || mvn -B -q -DskipTests package

acl="$out/acl"
{
  echo "# 999 rules that never match the benchmark's topics, then the one that does (the worst case for a walk)"
  for i in $(seq 0 997); do echo "topic readwrite fleet/$i/#"; done
  echo "pattern readwrite devices/%c/#"
  echo "topic readwrite bench/#"
} > "$acl"

run() { # label, extra broker flags...
  local label=$1; shift
  local log="$out/broker-$label.log"
  java -jar server/target/sluice.jar --bind 127.0.0.1 --mqtt-port 0 --http-port -1 --stomp-port -1 \
      --persistence none "$@" > "$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do grep -q "Sluice ready" "$log" && break; sleep 0.5; done
  local port
  port=$(grep -o 'mqtt=127.0.0.1:[0-9]*' "$log" | cut -d: -f2)
  java -jar benchmarks/target/benchmarks.jar load --scenario p2p --transport tcp --port "$port" --qos 1 \
      --clients "$clients" --duration "$seconds" --warmup 2 --label "$label" --broker-pid "$pid" | tail -1 >> "$out/results.jsonl"
  kill "$pid"
  wait "$pid" || true
}

for round in 1 2; do
  run "no-acl-$round"
  run "acl-1000-$round" --acl-file "$acl"
done
cat "$out/results.jsonl"
