#!/usr/bin/env bash
# One-shot command-line use, timed by hyperfine in the same run: `hoard get`
# against `tkrzw_dbm_util get` (HashDBM) and `sqlite3` SELECT (one-table
# database) on stores of each size, then durable one-shot writes on the
# smallest: `hoard put` against `sqlite3` INSERT OR REPLACE and
# `tkrzw_dbm_util set`. Also reports hoard's import rate, hint size and, for
# the largest size that is at most 1M keys, a merge of that store
# overwritten three times.
#
#   cargo build --release
#   bash bench/cli.sh                       # SIZES="1000 1000000 10000000"
#   SIZES="1000 100000" bash bench/cli.sh   # quicker
#
# Needs the Debian packages hyperfine, tkrzw-utils and sqlite3; the script
# installs them with apt-get when it runs as root and they are missing.
# Keys are 20 bytes (k + 19 digits), values 100 bytes. WORK (default: a
# new directory under /tmp) holds the stores; it is removed at the end
# unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 1000000 10000000"}
HOARD=$(realpath "${HOARD:-target/release/hoard}")
RUNS=${RUNS:-200}
[ -x "$HOARD" ] || { echo "build first: cargo build --release" >&2; exit 2; }
need=()
for tool in hyperfine:hyperfine tkrzw_dbm_util:tkrzw-utils sqlite3:sqlite3; do
    command -v "${tool%%:*}" >/dev/null || need+=("${tool##*:}")
done
if ((${#need[@]})); then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
    else
        echo "install: ${need[*]}" >&2; exit 2
    fi
fi
WORK=${WORK:-$(mktemp -d /tmp/hoard-bench.XXXXXX)}
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT

gen() { # N [round]: N lines of k%019d <TAB> 100-byte value
    awk -v n="$1" -v r="${2:-0}" 'BEGIN { v = sprintf("%099d", r); for (i = 0; i < n; i++) printf "k%019d\tv%s\n", i, v }'
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
echo "hoard $("$HOARD" --version | cut -d' ' -f2), $(sqlite3 --version | cut -d' ' -f1), tkrzw $(dpkg-query -W -f='${Version}' tkrzw-utils 2>/dev/null || echo '?')"
for n in $SIZES; do
    store="$WORK/hoard-$n" db="$WORK/sqlite-$n.db" tkh="$WORK/tkrzw-$n.tkh"
    start=$(now)
    gen "$n" | "$HOARD" -q -d "$store" import --format tsv
    secs=$(elapsed "$start")
    hint=$("$HOARD" -d "$store" inspect --json | sed -E 's/.*"hint":\{[^}]*"bytes":([0-9]+).*/\1/')
    echo "n=$n: hoard import ${secs}s ($(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }') keys/s); hint $hint bytes ($(awk -v h="$hint" -v n="$n" 'BEGIN { printf "%.1f", h / n }') bytes/key)"
    gen "$n" | sqlite3 "$db" "PRAGMA journal_mode=OFF;" "PRAGMA synchronous=OFF;" \
        "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;" ".mode tabs" ".import /dev/stdin kv" >/dev/null
    tkrzw_dbm_util create --dbm hash --buckets $((n * 2)) "$tkh"
    gen "$n" > "$WORK/in.tsv"
    tkrzw_dbm_util import --dbm hash --tsv "$tkh" "$WORK/in.tsv"
    rm -f "$WORK/in.tsv"
    key=$(printf 'k%019d' $((n / 2)))
    hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$WORK/get-$n.json" \
        -n "hoard get (n=$n)" "$HOARD -d $store get $key" \
        -n "tkrzw_dbm_util get (n=$n)" "tkrzw_dbm_util get --dbm hash $tkh $key" \
        -n "sqlite3 SELECT (n=$n)" "sqlite3 $db \"SELECT v FROM kv WHERE k='$key'\"" |
        grep -E "^Benchmark|Time \(mean"
    if [ "$n" -le 1000000 ]; then merge_n=$n; fi
    if [ -z "${put_n:-}" ]; then put_n=$n; fi
done

store="$WORK/hoard-$put_n" db="$WORK/sqlite-$put_n.db" tkh="$WORK/tkrzw-$put_n.tkh"
value=$(printf 'v%.0s' $(seq 1 100))
# hoard syncs before it answers (policy always); sqlite3 by default too
# (synchronous=FULL); tkrzw_dbm_util set does not sync unless asked.
hyperfine -N --warmup 10 --runs "$RUNS" \
    -n "hoard put (n=$put_n)" "$HOARD -d $store put k-oneshot $value" \
    -n "sqlite3 INSERT OR REPLACE (n=$put_n)" "sqlite3 $db \"INSERT OR REPLACE INTO kv VALUES('k-oneshot','$value')\"" \
    -n "tkrzw_dbm_util set (n=$put_n)" "tkrzw_dbm_util set --dbm hash $tkh k-oneshot $value" |
    grep -E "^Benchmark|Time \(mean"

if [ -n "${merge_n:-}" ]; then
    store="$WORK/hoard-$merge_n"
    for round in 1 2 3; do gen "$merge_n" "$round" | "$HOARD" -q -d "$store" import --format tsv; done
    echo "merge of n=$merge_n overwritten 3 times: $("$HOARD" -q -d "$store" merge --json)"
fi
