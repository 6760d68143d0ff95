#!/usr/bin/env bash
# A local Ballista cluster on loopback: one movielens-scheduler and N
# movielens-executor processes, with logs and pid files under $CLUSTER_DIR.
#
#   deploy/local/cluster.sh up [--executors N] [--port 50050] [--config FILE] [--pin]
#   deploy/local/cluster.sh status
#   deploy/local/cluster.sh down
#
# --pin binds executor i to CPU (i-1) mod nproc (taskset), as on a host of one
# vcore: it then cannot borrow a second core for its runtime's and writers'
# threads, which an unpinned executor with one task slot does.
# Binaries come from $MOVIELENS_BIN_DIR (default: target/release, else target/debug).
# Then: movielens transform --scheduler df://127.0.0.1:50050
set -euo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
CLUSTER_DIR="${CLUSTER_DIR:-$here/target/local-cluster}"
bin_dir="${MOVIELENS_BIN_DIR:-}"
if [ -z "$bin_dir" ]; then
    for d in "${CARGO_TARGET_DIR:-$here/target}/release" "${CARGO_TARGET_DIR:-$here/target}/debug"; do
        if [ -x "$d/movielens-scheduler" ] && [ -x "$d/movielens-executor" ]; then bin_dir="$d"; break; fi
    done
fi

# Not for the binaries: they read every MOVIELENS_* variable as configuration.
unset MOVIELENS_BIN_DIR

die() { echo "cluster.sh: $*" >&2; exit 1; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_port() { # host port seconds
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# The ports of the executors the scheduler on port $1 lists, sorted, space-separated.
# Returns 2 if the scheduler has no REST API (a build older than this script).
registered_ports() {
    local body
    body=$(curl -s "http://127.0.0.1:$1/api/executors") || return 1
    case "$body" in *"REST API has been disabled"*) return 2 ;; esac
    python3 -c 'import json, sys; print(" ".join(sorted(str(e["port"]) for e in json.loads(sys.argv[1]))) + " ")' "$body" 2>/dev/null
}

up() {
    local executors=2 port=50050 config="" pin=0
    while [ $# -gt 0 ]; do
        case "$1" in
            --executors) executors="$2"; shift 2 ;;
            --port) port="$2"; shift 2 ;;
            --config) config="$2"; shift 2 ;;
            --pin) pin=1; shift ;;
            *) die "unknown option $1 (see the header of this script)" ;;
        esac
    done
    [ -n "$bin_dir" ] || die "no movielens-scheduler/movielens-executor binaries: run 'cargo build --release' (or set MOVIELENS_BIN_DIR)"
    mkdir -p "$CLUSTER_DIR"
    alive "$CLUSTER_DIR/scheduler.pid" && die "already up (scheduler pid $(cat "$CLUSTER_DIR/scheduler.pid")); run 'down' first"
    local cfg=()
    [ -n "$config" ] && cfg=(--config "$config")

    "$bin_dir/movielens-scheduler" "${cfg[@]}" --bind-host 127.0.0.1 --port "$port" \
        >"$CLUSTER_DIR/scheduler.log" 2>&1 &
    echo $! >"$CLUSTER_DIR/scheduler.pid"
    wait_port 127.0.0.1 "$port" 20 || die "scheduler did not listen on $port; see $CLUSTER_DIR/scheduler.log"

    local i p cpus
    cpus=$(nproc)
    local on_cpu=()
    if [ "$pin" = 1 ]; then
        command -v taskset >/dev/null || die "--pin needs taskset (Debian: apt-get install util-linux)"
    fi
    for ((i = 1; i <= executors; i++)); do
        p=$((port + 2 * i))
        [ "$pin" = 1 ] && on_cpu=(taskset -c $(((i - 1) % cpus)))
        MOVIELENS_CLUSTER__BIND_HOST=127.0.0.1 "${on_cpu[@]}" "$bin_dir/movielens-executor" "${cfg[@]}" \
            --scheduler "127.0.0.1:$port" --port "$p" --external-host 127.0.0.1 --metrics-port $((p + 1000)) \
            --work-dir "$CLUSTER_DIR/executor-$i" \
            >"$CLUSTER_DIR/executor-$i.log" 2>&1 &
        echo $! >"$CLUSTER_DIR/executor-$i.pid"
    done
    for ((i = 1; i <= executors; i++)); do
        wait_port 127.0.0.1 $((port + 2 * i)) 20 || die "executor $i did not start; see $CLUSTER_DIR/executor-$i.log"
    done
    # Listening is not registered: wait until the scheduler lists every
    # executor (its REST API), so a job started next gets all of them.
    local want got="" missing rc
    want=$(for ((i = 1; i <= executors; i++)); do echo $((port + 2 * i)); done | sort | tr '\n' ' ')
    for ((i = 0; i < 300; i++)); do
        rc=0
        got=$(registered_ports "$port") || rc=$?
        case $rc in
            0) [ "$got" = "$want" ] && break ;;
            2) die "the scheduler in $bin_dir serves no REST API, so registration cannot be checked: rebuild it (cargo build --release)" ;;
        esac
        sleep 0.1
    done
    if [ "$got" != "$want" ]; then
        missing=$(comm -23 <(tr ' ' '\n' <<<"$want" | sed '/^$/d') <(tr ' ' '\n' <<<"$got" | sed '/^$/d') | tr '\n' ' ')
        die "after 30 s the scheduler lists executors on ports '${got% }', not on: ${missing% } (see $CLUSTER_DIR/executor-*.log)"
    fi
    echo "cluster up: scheduler df://127.0.0.1:$port, $executors executors registered; logs in $CLUSTER_DIR"
}

down() {
    local f stopped=0
    for f in "$CLUSTER_DIR"/executor-*.pid "$CLUSTER_DIR"/scheduler.pid; do
        [ -f "$f" ] || continue
        if alive "$f"; then kill "$(cat "$f")" 2>/dev/null || true; stopped=$((stopped + 1)); fi
        rm -f "$f"
    done
    # Shuffle files of a stopped cluster are never needed again.
    rm -rf "$CLUSTER_DIR"/executor-*/
    echo "cluster down ($stopped processes stopped)"
}

status() {
    local f
    for f in "$CLUSTER_DIR"/scheduler.pid "$CLUSTER_DIR"/executor-*.pid; do
        [ -f "$f" ] || continue
        if alive "$f"; then echo "$(basename "$f" .pid): running (pid $(cat "$f"))"; else echo "$(basename "$f" .pid): dead"; fi
    done
}

case "${1:-}" in
    up) shift; up "$@" ;;
    down) down ;;
    status) status ;;
    *) die "usage: cluster.sh up [--executors N] [--port P] [--config FILE] [--pin] | status | down" ;;
esac
