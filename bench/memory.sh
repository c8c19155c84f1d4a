#!/usr/bin/env bash
# Memory engine figures for N keys (20-byte keys, 100-byte values): load
# time from AOF alone and from snapshot alone, snapshot size with and
# without compression, resident bytes per key -- beside redis-server
# holding the same data (loaded with `hoard export --format resp |
# redis-cli --pipe`), measured in the same run.
#
#   bash bench/memory.sh            # KEYS=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-1000000}
for tool in redis-server redis-cli; do
    command -v "$tool" >/dev/null || { echo "needs redis-server and redis-tools" >&2; exit 2; }
done
cargo build --release -q --example memory-load --bin hoard
WORK=$(mktemp -d /tmp/hoard-memory.XXXXXX)
PORT=${PORT:-16390}
cleanup() { redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

load=target/release/examples/memory-load
$load prepare "$KEYS" "$WORK/store"
$load load "$WORK/store"
$load snapshot "$WORK/store"
$load load "$WORK/store"

redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no --daemonize yes >/dev/null
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
used() { redis-cli -p "$PORT" info memory | tr -d '\r' | awk -F: -v k="$1" '$1 == k { print $2 }'; }
base_mem=$(used used_memory) base_rss=$(used used_memory_rss)
target/release/hoard -d "$WORK/store" export --format resp | redis-cli -p "$PORT" --pipe | tail -1
mem=$(used used_memory) rss=$(used used_memory_rss)
awk -v n="$KEYS" -v m="$((mem - base_mem))" -v r="$((rss - base_rss))" \
    'BEGIN { printf "redis-server %s: used_memory %.1f bytes/key, resident %.1f bytes/key\n", "'"$(redis-server --version | awk '{print $3}')"'", m / n, r / n }'
