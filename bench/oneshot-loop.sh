#!/usr/bin/env bash
# Wall time of N one-shot `hoard put` and `hoard get` calls in a shell loop,
# beside the same loops with sqlite3 (INSERT OR REPLACE / SELECT on a
# one-table database). Both sides are durable: hoard's default sync policy
# is `always`, sqlite3's default is synchronous=FULL.
#
#   cargo build --release && bash bench/oneshot-loop.sh      (N=1000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
HOARD=${HOARD:-target/release/hoard}
command -v sqlite3 >/dev/null || { echo "needs sqlite3 (apt-get install sqlite3)" >&2; exit 2; }
[ -x "$HOARD" ] || { echo "build first: cargo build --release" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
store="$work/store" db="$work/kv.db"
sqlite3 "$db" "CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB)"
value=$(printf 'v%.0s' $(seq 1 100))

TIMEFORMAT='%R'
run() { # label, function
    local secs
    secs=$( { time "$2" >/dev/null; } 2>&1 )
    printf '%-22s %8.3f s  %8.3f ms/call\n' "$1" "$secs" "$(awk -v s="$secs" -v n="$N" 'BEGIN { print s * 1000 / n }')"
}
hoard_puts() { for ((i = 0; i < N; i++)); do "$HOARD" -q -d "$store" put "key$i" "$value"; done; }
hoard_gets() { for ((i = 0; i < N; i++)); do "$HOARD" -q -d "$store" get "key$i"; done; }
sqlite_puts() { for ((i = 0; i < N; i++)); do sqlite3 "$db" "INSERT OR REPLACE INTO kv VALUES('key$i','$value')"; done; }
sqlite_gets() { for ((i = 0; i < N; i++)); do sqlite3 "$db" "SELECT v FROM kv WHERE k='key$i'"; done; }

echo "N=$N one-shot calls, 100-byte values"
run "hoard put" hoard_puts
run "sqlite3 INSERT" sqlite_puts
run "hoard get" hoard_gets
run "sqlite3 SELECT" sqlite_gets
