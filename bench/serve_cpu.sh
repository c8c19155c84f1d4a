#!/usr/bin/env bash
# Server CPU per request under `redis-benchmark -P 16`, which sets the
# `-P 16` rows of bench/serve.sh: there the server is the one at its
# limit, so what it spends per request decides its throughput.
#
# For each round and each server (redis-server, the ceiling of
# bench/resp_ceiling.rs, hoard bitcask, hoard memory; interleaved), it
# starts the server fresh, loads it with 400k SETs over 100k keys, then
# times N requests of TEST (get or set) at -c 50 -r 100000 -d 100 -P 16
# and prints the throughput and the server's CPU (user + system from
# /proc/PID/stat) per request.
#
#   bash bench/serve_cpu.sh                  # TEST=get N=1000000 ROUNDS=3
#   TEST=set ROUNDS=2 bash bench/serve_cpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TEST=${TEST:-get}
N=${N:-1000000}
ROUNDS=${ROUNDS:-3}
for tool in redis-server redis-cli redis-benchmark python3; do
    command -v "$tool" >/dev/null || { echo "needs redis-server, redis-tools and python3" >&2; exit 2; }
done
cargo build --release -q --bin hoard --example resp-ceiling
HOARD=target/release/hoard
CEILING=target/release/examples/resp-ceiling
WORK=$(mktemp -d /tmp/hoard-serve-cpu.XXXXXX)
# shellcheck source=bench/servers.sh
. bench/servers.sh

THREADS=1
# start SERVER -> sets PORT and PID
start() {
    case $1 in
        redis) start_redis --save '' ;;
        ceiling) start_ceiling ;;
        *) start_hoard "$1" interval:1000 ;;
    esac
}

echo "# $TEST: -c 50 -n $N -r 100000 -d 100 -P 16 after 400k SETs; server CPU per request"
for round in $(seq "$ROUNDS"); do
    for server in redis ceiling bitcask memory; do
        start "$server"
        redis-benchmark -p "$PORT" -c 50 -n 400000 -r 100000 -d 100 -t set -P 16 -q >/dev/null
        before=$(cpu_ticks "$PID")
        rps=$(redis-benchmark -p "$PORT" -c 50 -n "$N" -r 100000 -d 100 -t "$TEST" -P 16 --csv |
            tail -n 1 | tr -d '"' | cut -d, -f2)
        after=$(cpu_ticks "$PID")
        stop
        awk -v r="$round" -v s="$server" -v rps="$rps" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$N" \
            'BEGIN { printf "round %d  %-8s %9.0f rps  %.3f us/request\n", r, s, rps, t / hz / n * 1e6 }'
    done
done
