# Shared by the bench scripts that start servers (sourced, not run):
# WORK must be set first. Servers started are recorded in PIDS and
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
