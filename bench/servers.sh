# Shared by the bench scripts that start servers (sourced, not run):
# WORK must be set first (and HOARD, CEILING and THREADS before the
# start_ functions run). Servers started are recorded in PIDS and
# stopped by pid, and WORK removed, when the script exits.
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# A free loopback port (free when printed).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits (at most 20 s) until the server on port $1 answers PONG (not
# LOADING); exits the script if it never does.
wait_ping() {
    for _ in $(seq 400); do
        [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return
        sleep 0.05
    done
    echo "server on $1 did not start" >&2
    exit 1
}

# start_hoard ENGINE SYNC -> sets PORT and PID
start_hoard() {
    local dir="$WORK/hoard-$1-$RANDOM"
    "$HOARD" -q -d "$dir" init --engine "$1" --sync "$2"
    PORT=$(free_port)
    "$HOARD" -q -d "$dir" serve --resp "127.0.0.1:$PORT" --threads "$THREADS" 2>>"$WORK/hoard.log" &
    PID=$!
    PIDS+=("$PID")
    wait_ping "$PORT"
}

# start_redis EXTRA_ARGS... -> sets PORT and PID
start_redis() {
    PORT=$(free_port)
    local dir="$WORK/redis-$RANDOM"
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$PORT" --dir "$dir" "$@" >/dev/null &
    PID=$!
    PIDS+=("$PID")
    wait_ping "$PORT"
}

# start_ceiling -> sets PORT and PID: bench/resp_ceiling.rs, a server
# that parses and answers but stores nothing (what redis-benchmark
# itself can drive here)
start_ceiling() {
    PORT=$(free_port)
    "$CEILING" "127.0.0.1:$PORT" >/dev/null &
    PID=$!
    PIDS+=("$PID")
    wait_ping "$PORT"
}

stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

# cpu_ticks PID: the process's user + system time so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
