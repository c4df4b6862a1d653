#!/usr/bin/env bash
# Benchmark (not a test): Ribbit's HTTP API with a full table loaded.
# One `ribbit run` (127.0.9.100, BGP port 11990, API 127.0.9.100:11998), one
# injector (127.0.9.101) sending a 1,000,000-prefix table made by tablegen.
# Measures the event stream's throughput to one subscriber while the table
# loads, then one-prefix lookups (exact and longest match) and a walk of the
# whole table page by page (bench/src/bin/api-query.rs).
#
#   bench/api.sh [PREFIXES]      (default 1000000; needs the release build of
#                                 ribbit and ribbit-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
prefixes=${1:-1000000}
bin=${CARGO_TARGET_DIR:-target}/release
for b in ribbit tablegen inject api-query; do
  [ -x "$bin/$b" ] || { echo "build first: cargo build --release -p ribbit -p ribbit-bench" >&2; exit 1; }
done
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

"$bin/tablegen" --prefixes "$prefixes" --peers 1 --seed 1 --out "$dir/table.mrt"
cat > "$dir/ribbit.toml" <<TOML
[global]
asn = 65100
router-id = "127.0.9.100"
listen = ["127.0.9.100:11990"]

[api]
listen = "127.0.9.100:11998"

[[neighbor]]
address = "127.0.9.101"
asn = 65101
passive = true
TOML
RIBBIT_LOG=warn "$bin/ribbit" run --config "$dir/ribbit.toml" 2> "$dir/ribbit.log" &
ribbit=$!
pids+=("$ribbit")
for _ in $(seq 1 50); do
  "$bin/api-query" --api 127.0.9.100:11998 queries --samples 1 --page 1 >/dev/null 2>&1 && break
  sleep 0.2
done

"$bin/api-query" --api 127.0.9.100:11998 events --quiet 5 > "$dir/events.txt" &
events=$!
pids+=("$events")
for _ in $(seq 1 50); do grep -q subscribed "$dir/events.txt" 2>/dev/null && break; sleep 0.1; done
"$bin/inject" --mrt "$dir/table.mrt" --to 127.0.9.100:11990 --local 127.0.9.101 --asn 65101 \
  > "$dir/inject.txt" 2>&1 &
pids+=("$!")
wait "$events"
cat "$dir/inject.txt"
grep -v subscribed "$dir/events.txt"
echo "ribbit VmHWM: $(awk '/VmHWM/ {print $2, $3}' "/proc/$ribbit/status")"
"$bin/api-query" --api 127.0.9.100:11998 queries --samples 2000 --page 1000
"$bin/api-query" --api 127.0.9.100:11998 queries --samples 0 --page 10000
