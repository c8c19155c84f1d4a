#!/usr/bin/env bash
# Figures for moving a hoard store onto Redis (issue 13), in one run:
#
#   - RDB export: `hoard export --format rdb` of KEYS keys (20-byte keys,
#     100-byte values), MB/s and keys/s, and redis-server's own load time
#     of that file (from its log: "DB loaded from disk");
#   - RDB import: `hoard import` of the file redis-server SAVEs of the
#     same data (its own encodings: integers, LZF), both engines;
#   - full sync: `hoard serve` holding KEYS keys, a fresh redis-server
#     --replicaof it: seconds until the replica's link is up;
#   - replication lag: redis-benchmark -t set -c 50 against hoard with
#     the replica attached, the replica's offset behind hoard's sampled
#     every 100 ms (bytes), its catch-up time after the load, and the
#     benchmark's rate beside the same load without a replica.
#
#   bash bench/scaleout.sh                 # KEYS=1000000
#   KEYS=100000 bash bench/scaleout.sh     # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-1000000}
LOAD_N=${LOAD_N:-400000}
for tool in redis-server redis-cli redis-benchmark python3; do
    command -v "$tool" >/dev/null || { echo "needs redis-server, redis-tools and python3" >&2; exit 2; }
done
cargo build --release -q --bin hoard
HOARD=$PWD/target/release/hoard
WORK=$(mktemp -d /tmp/hoard-scaleout.XXXXXX)
# shellcheck source=bench/servers.sh
. bench/servers.sh
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
rate() { python3 -c "print(f'{$1 / $2:,.0f}')"; }
mbps() { python3 -c "print(f'{$1 / $2 / 1e6:.1f}')"; }
field() { redis-cli -p "$1" info replication | tr -d '\r' | sed -n "s/^$2://p"; }

echo "== data: $KEYS keys, 20-byte keys, 100-byte values"
python3 - "$KEYS" > "$WORK/data.tsv" <<'EOF'
import sys
n = int(sys.argv[1])
value = "v" * 100
out = sys.stdout
for i in range(n):
    out.write(f"key:{i:016d}\t{value}\n")
EOF
"$HOARD" -q -d "$WORK/store" init --engine bitcask --sync never
"$HOARD" -q -d "$WORK/store" import "$WORK/data.tsv"

echo "== RDB export"
t0=$(now)
"$HOARD" -d "$WORK/store" export --format rdb > "$WORK/dump.rdb"
t1=$(now)
bytes=$(stat -c %s "$WORK/dump.rdb")
secs=$(elapsed "$t0" "$t1")
echo "hoard export --format rdb: $secs s, $(mbps "$bytes" "$secs") MB/s, $(rate "$KEYS" "$secs") keys/s ($bytes bytes)"

PORT=$(free_port)
mkdir "$WORK/redis"
cp "$WORK/dump.rdb" "$WORK/redis/dump.rdb"
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$WORK/redis" --dbfilename dump.rdb \
    --save '' --appendonly no --logfile "$WORK/redis/log" &
PIDS+=($!)
wait_ping "$PORT"
loaded=$(grep -o 'DB loaded from disk: [0-9.]* seconds' "$WORK/redis/log" | grep -o '[0-9.]*' | head -1)
echo "redis-server loading it: $loaded s, $(rate "$KEYS" "$loaded") keys/s; DBSIZE $(redis-cli -p "$PORT" dbsize)"

echo "== RDB import (redis-server's own SAVE of the same data)"
redis-cli -p "$PORT" save >/dev/null
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
saved=$(stat -c %s "$WORK/redis/dump.rdb")
for engine in bitcask memory; do
    "$HOARD" -q -d "$WORK/import-$engine" init --engine "$engine" --sync never
    t0=$(now)
    "$HOARD" -q -d "$WORK/import-$engine" import "$WORK/redis/dump.rdb"
    t1=$(now)
    secs=$(elapsed "$t0" "$t1")
    echo "hoard import ($engine): $secs s, $(mbps "$saved" "$secs") MB/s, $(rate "$KEYS" "$secs") keys/s (two passes: check, then write)"
done

measure_lag() { # MASTER_PORT REPLICA_PORT: prints lag, rate and catch-up
    local master=$1 replica=$2
    python3 - "$master" "$replica" > "$WORK/lag.txt" <<'EOF' &
import subprocess, sys, time
def offset(port):
    info = subprocess.run(["redis-cli", "-p", port, "info", "replication"],
                          capture_output=True, text=True).stdout
    for line in info.splitlines():
        if line.startswith("master_repl_offset:"):
            return int(line.split(":")[1])
    return 0
deadline = time.time() + 600
while time.time() < deadline:
    # The replica first: the lag read is then never less than the true one.
    behind = -offset(sys.argv[2])
    behind += offset(sys.argv[1])
    print(behind, flush=True)
    time.sleep(0.1)
EOF
    local sampler=$!
    PIDS+=($sampler)
    local with t0 t1
    with=$(redis-benchmark -p "$master" -t set -c 50 -n "$LOAD_N" -r 100000 -d 100 -q 2>/dev/null | tr '\r' '\n' | grep 'per second' | tail -1)
    t0=$(now)
    for _ in $(seq 3000); do
        [ "$(field "$master" master_repl_offset)" = "$(field "$replica" master_repl_offset)" ] && break
        sleep 0.01
    done
    t1=$(now)
    kill "$sampler" 2>/dev/null || true
    python3 - "$WORK/lag.txt" <<'EOF'
import statistics, sys
lags = [int(l) for l in open(sys.argv[1]) if l.strip()]
print(f"replica behind by: median {statistics.median(lags):,.0f} bytes, max {max(lags):,} bytes ({len(lags)} samples, 100 ms apart)")
EOF
    echo "with the replica: $with; caught up $(elapsed "$t0" "$t1") s after the load ended"
}

# replicate LABEL MASTER_PORT: a fresh redis-server replica of the
# master; prints the full-sync time, then the lag and rates under load.
replicate() {
    local label=$1 master=$2 replica t0 t1 pid
    replica=$(free_port)
    mkdir -p "$WORK/replica-${label// /-}"
    t0=$(now)
    redis-server --port "$replica" --bind 127.0.0.1 --replicaof 127.0.0.1 "$master" \
        --dir "$WORK/replica-${label// /-}" --save '' --appendonly no --logfile "$WORK/replica-${label// /-}/log" &
    pid=$!
    PIDS+=($pid)
    wait_ping "$replica"
    for _ in $(seq 6000); do
        [ "$(field "$replica" master_link_status)" = up ] && break
        sleep 0.02
    done
    t1=$(now)
    echo "$label: link up after $(elapsed "$t0" "$t1") s; replica DBSIZE $(redis-cli -p "$replica" dbsize)"
    echo "== replication lag under redis-benchmark -t set -c 50 -n $LOAD_N -r 100000 -d 100 ($label)"
    measure_lag "$master" "$replica"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    echo "without a replica: $(redis-benchmark -p "$master" -t set -c 50 -n "$LOAD_N" -r 100000 -d 100 -q 2>/dev/null | tr '\r' '\n' | grep 'per second' | tail -1)"
}

echo "== full sync of $KEYS keys to a redis-server replica"
for engine in bitcask memory; do
    HPORT=$(free_port)
    "$HOARD" -d "$WORK/import-$engine" serve --resp "127.0.0.1:$HPORT" --threads 1 2>>"$WORK/hoard.log" &
    HPID=$!
    PIDS+=($HPID)
    wait_ping "$HPORT"
    replicate "hoard $engine" "$HPORT"
    kill "$HPID"
    wait "$HPID" 2>/dev/null || true
done

echo "== the same with redis-server as the master (its own replication, for comparison)"
MPORT=$(free_port)
mkdir -p "$WORK/redis-master"
redis-server --port "$MPORT" --bind 127.0.0.1 --dir "$WORK/redis-master" --save '' --appendonly no \
    --logfile "$WORK/redis-master/log" &
PIDS+=($!)
wait_ping "$MPORT"
awk -F'\t' '{printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length($1), $1, length($2), $2}' "$WORK/data.tsv" \
    | redis-cli -p "$MPORT" --pipe >/dev/null
replicate "redis-server" "$MPORT"
