#!/usr/bin/env bash
# The TTL memory table of docs/algorithms.md: the benchmark's 2 M generated events through
# `run --algos cooccurrence` into a fresh redis-server, once per --ttl; prints each run's
# summary lines, wall time and peak RSS (GNU time), the item lists and keys in the store
# and Redis' used_memory.
#
# Usage: scripts/ttl-memory.sh [TTL ...]   (default: off 30d 12h 4h 1h)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product onlinecf >&2
bin="$PWD/.build/release/onlinecf"
work="${TTL_MEMORY_DIR:-/tmp/onlinecf-ttl-memory}"
mkdir -p "$work"
feed="$work/gen-2m.jsonl"
[[ -s "$feed" ]] || "$bin" gen --events 2000000 --users 200000 --items 50000 --seed 42 > "$feed"
port="${TTL_MEMORY_PORT:-6393}"
ttls=("$@"); [[ ${#ttls[@]} -gt 0 ]] || ttls=(off 30d 12h 4h 1h)
for ttl in "${ttls[@]}"; do
    redis-server --port "$port" --save '' --appendonly no --daemonize yes --logfile "$work/redis.log" >/dev/null
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    option=(); [[ "$ttl" == off ]] || option=(--ttl "$ttl")
    /usr/bin/time -f "wall %e s  peak RSS %M KiB" "$bin" run --redis "redis://127.0.0.1:$port" --namespace m \
        --algos cooccurrence --no-progress "${option[@]}" < "$feed" 2> "$work/run-$ttl.log" || true
    echo "== --ttl $ttl"
    grep -E "TTL:|lists written|events/s|wall|snapshots" "$work/run-$ttl.log"
    echo "item lists $(redis-cli -p "$port" --scan --pattern 'm:i2i:itemcf:cooccurrence:*' | wc -l)  keys $(redis-cli -p "$port" dbsize)  $(redis-cli -p "$port" info memory | grep '^used_memory:' | tr -d '\r')"
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
done
