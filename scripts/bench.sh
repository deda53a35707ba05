#!/usr/bin/env bash
# Runs the benchmark scenarios of docs/benchmarks.md on this machine and prints their figures.
# Usage: scripts/bench.sh [EVENTS]   (default 2,000,000 generated events: 200k users, 50k items)
# Needs ../shared/data/ml-100k.inter for the MovieLens scenarios (skipped when absent).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product onlinecf >/dev/null
bin="$(swift build -c release --show-bin-path)/onlinecf"
events="${1:-2000000}"
work="$(mktemp -d /tmp/onlinecf-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export ONLINECF_HOME="$work/home"

"$bin" gen --events "$events" --users $((events / 10)) --items $((events / 40)) --seed 42 > "$work/events.jsonl"
echo "data: $events generated events ($((events / 10)) users, $((events / 40)) items), $(du -h "$work/events.jsonl" | cut -f1)"

used_memory() {  # Redis used_memory of the private server's saved data, read by a throwaway server
    redis-server --port 0 --unixsocket "$work/q.sock" --dir "$ONLINECF_HOME" --dbfilename dump.rdb --daemonize yes \
        --logfile "$work/q.log" --pidfile "$work/q.pid" >/dev/null
    for _ in $(seq 600); do redis-cli -s "$work/q.sock" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
    echo "redis used_memory: $(redis-cli -s "$work/q.sock" info memory | grep '^used_memory:' | cut -d: -f2 | tr -d '\r') bytes, keys: $(redis-cli -s "$work/q.sock" dbsize)"
    redis-cli -s "$work/q.sock" shutdown nosave >/dev/null 2>&1 || true
}

scenario() {  # name, then the command; prints the run summary
    echo; echo "== $1"; shift
    rm -rf "$ONLINECF_HOME"
    "$@" 2>&1 | grep -E "events:|KV commands|peak RSS|emissions|Swing rebuilds|Swing rows"
}

scenario "run, stdin, embedded Redis, --algos cooccurrence (ItemCF x4 + u2u + a2a), default bounds" \
    "$bin" run --no-progress --algos cooccurrence < "$work/events.jsonl"
used_memory
scenario "run, stdin, embedded Redis, --algos all (with streaming Swing)" \
    "$bin" run --no-progress --algos all < "$work/events.jsonl"
scenario "batch, --algos all (exact Swing)" "$bin" batch --no-progress --algos all "$work/events.jsonl"
scenario "batch, --algos swing" "$bin" batch --no-progress --algos swing -k 50 "$work/events.jsonl"

ml=../shared/data/ml-100k.inter
if [[ -f $ml ]]; then
    scenario "ml-100k: batch --algos swing -k 50 (Flink ML defaults)" "$bin" batch --no-progress --format inter --algos swing -k 50 "$ml"
    "$bin" export --algo swing > "$work/batch.tsv"
    { head -1 "$ml"; tail -n +2 "$ml" | sort -t$'\t' -k4,4n -s; } > "$work/ml-by-time.inter"
    scenario "ml-100k in timestamp order: run --algos swing -k 50 (streaming: changed rows recomputed at each emission)" \
        "$bin" run --no-progress --format inter --algos swing -k 50 < "$work/ml-by-time.inter"
    "$bin" export --algo swing > "$work/stream.tsv"
    python3 scripts/swing-overlap.py "$work/stream.tsv" "$work/batch.tsv"
    scenario "ml-100k in timestamp order: run --algos cooccurrence" \
        "$bin" run --no-progress --format inter --algos cooccurrence < "$work/ml-by-time.inter"
fi
