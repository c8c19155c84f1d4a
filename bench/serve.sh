#!/usr/bin/env bash
# `hoard serve` against redis-server under redis-benchmark, in one run:
#
#   - throughput: -c 50 -n N -r 100000 -d 100 -t set,get at -P 1 and -P 16,
#     hoard (bitcask and memory, sync interval:1000) and a fresh
#     redis-server (default persistence: no AOF) interleaved ROUNDS times,
#     and the ceiling: bench/resp_ceiling.rs, a server that parses and
#     answers but stores nothing, which shows what redis-benchmark's one
#     thread can drive on this machine: the client's limit, whatever the server;
#   - durable writes: hoard `always` against redis `appendfsync always`,
#     and `interval:1000` against `everysec` (-t set, -c 50, -P 1);
#   - memory per key: resident bytes after SETting KEYS distinct keys
#     (20-byte keys, 100-byte values), hoard memory engine vs redis-server.
#
# Prints one line per run (rps, p50 and p99 in ms, from redis-benchmark's
# CSV; the CPU redis-benchmark and the server used, as shares of a core)
# and a summary table with the ratio to redis-server in the same run.
#
# hoard serves with one worker thread (THREADS=1), as redis-server serves
# from one: on a 2-core machine redis-benchmark needs the other core, and
# a second worker only adds context switches (measured: P1 SET 73k/s with
# 2 workers against 98k/s with 1).
#
#   bash bench/serve.sh                       # N=400000 ROUNDS=3 KEYS=1000000
#   N=100000 ROUNDS=1 bash bench/serve.sh     # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-400000}
ROUNDS=${ROUNDS:-3}
KEYS=${KEYS:-1000000}
DURABLE_N=${DURABLE_N:-100000}
THREADS=${THREADS:-1}
for tool in redis-server redis-cli redis-benchmark /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "needs redis-server, redis-tools and time" >&2; exit 2; }
done
cargo build --release -q --bin hoard --example resp-ceiling
HOARD=target/release/hoard
CEILING=target/release/examples/resp-ceiling
WORK=$(mktemp -d /tmp/hoard-serve-bench.XXXXXX)
# shellcheck source=bench/servers.sh
. bench/servers.sh

# bench NAME ARGS... : one redis-benchmark run, one line per test, and
# one line of CPU: redis-benchmark's own (user + system over its wall
# time, by /usr/bin/time) and the server's (/proc/PID/stat), each as a
# share of one core. A client near 1.00 is the limit of the run, not the
# server.
bench() {
    local name=$1
    shift
    local before
    before=$(cpu_ticks "$PID")
    /usr/bin/time -f '%U %S %e' -o "$WORK/time" redis-benchmark -p "$PORT" --csv "$@" | tail -n +2 | tr -d '"' |
        while IFS=, read -r test rps avg min p50 p95 p99 max; do
            printf '%-28s %-5s %10.0f rps  p50 %6.3f ms  p99 %6.3f ms\n' "$name" "$test" "$rps" "$p50" "$p99"
        done | tee -a "$WORK/results"
    local after user sys wall
    after=$(cpu_ticks "$PID")
    read -r user sys wall < "$WORK/time"
    awk -v name="$name" -v u="$user" -v s="$sys" -v e="$wall" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%-28s cpu   client %.2f  server %.2f of a core\n", name, (u + s) / e, t / hz / e }' |
        tee -a "$WORK/results"
}

echo "# throughput: -c 50 -n $N -r 100000 -d 100 -t set,get (hoard: sync interval:1000, --threads $THREADS)"
for round in $(seq "$ROUNDS"); do
    for pipeline in 1 16; do
        start_hoard bitcask interval:1000
        bench "hoard-bitcask P$pipeline" -c 50 -n "$N" -r 100000 -d 100 -t set,get -P "$pipeline"
        stop
        start_hoard memory interval:1000
        bench "hoard-memory P$pipeline" -c 50 -n "$N" -r 100000 -d 100 -t set,get -P "$pipeline"
        stop
        start_redis
        bench "redis P$pipeline" -c 50 -n "$N" -r 100000 -d 100 -t set,get -P "$pipeline"
        stop
        start_ceiling
        bench "ceiling P$pipeline" -c 50 -n "$N" -r 100000 -d 100 -t set,get -P "$pipeline"
        stop
    done
done

echo "# durable writes: -c 50 -n $DURABLE_N -r 100000 -d 100 -t set -P 1"
for round in $(seq "$ROUNDS"); do
    start_hoard bitcask always
    bench "hoard-bitcask always" -c 50 -n "$DURABLE_N" -r 100000 -d 100 -t set
    stop
    start_hoard memory always
    bench "hoard-memory always" -c 50 -n "$DURABLE_N" -r 100000 -d 100 -t set
    stop
    start_redis --appendonly yes --appendfsync always
    bench "redis always" -c 50 -n "$DURABLE_N" -r 100000 -d 100 -t set
    stop
    start_hoard bitcask interval:1000
    bench "hoard-bitcask everysec" -c 50 -n "$DURABLE_N" -r 100000 -d 100 -t set
    stop
    start_hoard memory interval:1000
    bench "hoard-memory everysec" -c 50 -n "$DURABLE_N" -r 100000 -d 100 -t set
    stop
    start_redis --appendonly yes --appendfsync everysec
    bench "redis everysec" -c 50 -n "$DURABLE_N" -r 100000 -d 100 -t set
    stop
done

echo "# memory per key: $KEYS distinct 20-byte keys (key:%016d), 100-byte values"
rss() { awk '{ print $2 * 4096 }' "/proc/$1/statm"; }
load_keys() {
    # Distinct keys: redis-benchmark's __rand_int__ repeats, so generate them.
    python3 - "$KEYS" <<'EOF' | redis-cli -p "$PORT" --pipe >/dev/null
import sys
n = int(sys.argv[1])
value = "v" * 100
out = sys.stdout
for i in range(n):
    key = "key:%016d" % i
    out.write("*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n" % (len(key), key, value))
EOF
}
per_key() {
    local before=$1 name=$2
    local keys after
    keys=$(redis-cli -p "$PORT" dbsize)
    after=$(rss "$PID")
    awk -v a="$after" -v b="$before" -v k="$keys" -v n="$name" \
        'BEGIN { printf "%-28s %d keys, %.1f resident bytes per key\n", n, k, (a - b) / k }' |
        tee -a "$WORK/results"
}
start_hoard memory never
before=$(rss "$PID")
load_keys
per_key "$before" "hoard-memory memory/key"
stop
start_redis --save '' --appendonly no
before=$(rss "$PID")
load_keys
per_key "$before" "redis memory/key"
stop

# The median of a space-separated list, for both summaries below.
MEDIAN='
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return a[int((n + 1) / 2)]
    }'
echo "# summary: median over $ROUNDS rounds; ratio to redis-server in the same run"
awk "$MEDIAN"'
    /rps/ {
        name = $1 " " $2; test = $3; rps = $4
        key = name SUBSEP test
        runs[key] = runs[key] " " rps
        p50[key] = $7; p99[key] = $10
    }
    END {
        for (key in runs) {
            split(key, parts, SUBSEP)
            split(parts[1], np, " ")
            m[key] = median(runs[key])
        }
        for (key in runs) {
            split(key, parts, SUBSEP)
            split(parts[1], np, " ")
            ref = "redis " np[2] SUBSEP parts[2]
            ratio = (ref in m && m[ref] > 0) ? sprintf("%.2fx", m[key] / m[ref]) : "-"
            top = "ceiling " np[2] SUBSEP parts[2]
            share = (top in m && m[top] > 0) ? sprintf(", %.2fx of the ceiling", m[key] / m[top]) : ""
            printf "%-28s %-5s %10.0f rps  %s of redis%s  (last p50 %s ms, p99 %s ms)\n", parts[1], parts[2], m[key], ratio, share, p50[key], p99[key]
        }
    }' "$WORK/results" | sort
echo "# CPU, median over $ROUNDS rounds, as a share of one core (client: redis-benchmark)"
awk "$MEDIAN"'
    / cpu / {
        name = $1 " " $2
        client[name] = client[name] " " $5; server[name] = server[name] " " $7
    }
    END { for (name in client) printf "%-28s client %s  server %s\n", name, median(client[name]), median(server[name]) }
' "$WORK/results" | sort
grep "per key" "$WORK/results"
