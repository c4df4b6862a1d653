#!/usr/bin/env bash
# Benchmark (not a test): N BGP sessions coming up to one Ribbit on loopback.
# Reports the time from starting the connecting side until every session is
# Established, and the resident memory per idle session of the listening
# Ribbit (VmRSS with N sessions up minus VmRSS with none, divided by N).
#
#   bench/sessions.sh [N]        (default 200; needs target/release/ribbit)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
bin=target/release/ribbit
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

# The target: AS 65000, passive towards N neighbors 127.0.1.i, listening on
# 127.0.2.i:12179 (one loopback address each side of each session: a
# neighbor is identified by its address).
addr() { echo "127.0.$(( ($2 - 1) / 250 + $1 )).$(( ($2 - 1) % 250 + 1 ))"; }
{
  printf '[global]\nasn = 65000\nrouter-id = "192.0.2.1"\nlisten = ['
  for i in $(seq 1 "$n"); do printf '"%s:12179",' "$(addr 2 "$i")"; done
  printf ']\n'
  for i in $(seq 1 "$n"); do
    printf '\n[[neighbor]]\naddress = "%s"\nasn = %d\npassive = true\n' "$(addr 1 "$i")" $((65000 + i))
  done
} > "$dir/target.toml"
# The load: one Ribbit with N neighbors, each from its own local address.
{
  printf '[global]\nasn = 64999\nrouter-id = "192.0.2.2"\nlisten = []\n'
  for i in $(seq 1 "$n"); do
    printf '\n[[neighbor]]\naddress = "%s"\nport = 12179\nlocal-address = "%s"\nasn = 65000\nlocal-asn = %d\nconnect-retry = 1\n' "$(addr 2 "$i")" "$(addr 1 "$i")" $((65000 + i))
  done
} > "$dir/load.toml"

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# Baseline: the same binary with no neighbor at all.
printf '[global]\nasn = 65000\nrouter-id = "192.0.2.1"\nlisten = ["127.0.2.1:12179"]\n' > "$dir/empty.toml"
RIBBIT_LOG=warn "$bin" run --config "$dir/empty.toml" 2> "$dir/empty.log" &
empty_pid=$!
sleep 1
empty=$(rss "$empty_pid")
kill "$empty_pid"; wait "$empty_pid" 2>/dev/null || true

RIBBIT_LOG=warn "$bin" run --config "$dir/target.toml" 2> "$dir/target.log" &
pids+=($!); target=${pids[0]}
sleep 1
base=$(rss "$target")
start=$(date +%s.%N)
RIBBIT_LOG=info "$bin" run --config "$dir/load.toml" 2> "$dir/load.log" &
pids+=($!)
deadline=$((SECONDS + 60))
while [ "$(grep -c 'to=Established' "$dir/load.log" || true)" -lt "$n" ]; do
  [ $SECONDS -lt $deadline ] || { echo "only $(grep -c 'to=Established' "$dir/load.log") of $n Established after 60 s" >&2; exit 1; }
  sleep 0.05
done
end=$(date +%s.%N)
sleep 2
up=$(rss "$target")
echo "sessions: $n"
echo "all Established after: $(python3 -c "print(round($end - $start, 3))") s"
echo "target VmRSS: ${empty} KiB without neighbors, ${base} KiB with $n configured and down, ${up} KiB with $n Established"
echo "per idle session: $(( (up - empty) / n )) KiB (neighbor task, connection tasks and buffers)"
