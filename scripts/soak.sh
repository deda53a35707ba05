#!/usr/bin/env bash
# The state soak: a feed whose items and users keep arriving (onlinecf gen --arrivals),
# fed to one namespace in segments by `onlinecf run`; after each segment, a restart (a run
# over empty input) is timed, and the KV bytes of the state (meta, log, snapshot chunks:
# MEMORY USAGE) and the segment's peak RSS are recorded. Prints one table row per segment.
#
# Usage: scripts/soak.sh [--events N] [--segments S] [-- extra run options, e.g. --ttl 1d]
# Defaults: 10,000,000 events in 5 segments; 20,000 users and items at the start, 20,000 of
# each arriving per simulated day, 1,000,000 events per day (10 days), half the exposure
# on items under a day old; --algos cooccurrence.
set -euo pipefail
cd "$(dirname "$0")/.."
events=10000000 segments=5
while [[ $# -gt 0 ]]; do
    case "$1" in
        --events) events="$2"; shift 2 ;;
        --segments) segments="$2"; shift 2 ;;
        --) shift; break ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
extra=("$@")
swift build -c release --product onlinecf >&2
bin="$PWD/.build/release/onlinecf"
work="${SOAK_DIR:-/tmp/onlinecf-soak}"
mkdir -p "$work"
feed="$work/feed-$events.jsonl"
if [[ ! -s "$feed" ]]; then
    "$bin" gen --arrivals --events "$events" --users 20000 --items 20000 --seed 42 > "$feed"
fi
per=$(( events / segments ))
port="${SOAK_PORT:-6399}"
redis-server --port "$port" --save '' --appendonly no --daemonize yes --logfile "$work/redis.log" >/dev/null
# SOAK_KEEP=1 leaves the server running with the final state (to profile a restart).
[[ -n "${SOAK_KEEP:-}" ]] || trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" flushall >/dev/null
kv=(--redis "redis://127.0.0.1:$port" --namespace soak --algos cooccurrence --no-progress "${extra[@]}")

state_bytes() {
    local total=0 key
    while read -r key; do
        [[ -n "$key" ]] || continue
        total=$(( total + $(redis-cli -p "$port" memory usage "$key" samples 0) ))
    done < <(redis-cli -p "$port" --scan --pattern 'soak:{soak/*' )
    echo "$total"
}

printf "| segment | events so far | segment wall s | segment events/s | segment peak RSS MiB | restart s | restart peak RSS MiB | state in the KV store MiB |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n"
for s in $(seq 1 "$segments"); do
    sed -n "$(( (s - 1) * per + 1 )),$(( s * per ))p;$(( s * per ))q" "$feed" > "$work/segment.jsonl"
    /usr/bin/time -f "%e %M" -o "$work/time" "$bin" run "${kv[@]}" < "$work/segment.jsonl" 2> "$work/run-$s.log"
    read -r wall rss < "$work/time"
    /usr/bin/time -f "%e %M" -o "$work/time" "$bin" run "${kv[@]}" < /dev/null 2> "$work/restart-$s.log"
    read -r rwall rrss < "$work/time"
    bytes=$(state_bytes)
    printf "| %d | %d | %.1f | %d | %d | %.2f | %d | %.1f |\n" "$s" $(( s * per )) "$wall" "$(awk -v n="$per" -v w="$wall" 'BEGIN{printf "%d", n/w}')" \
        $(( rss / 1024 )) "$rwall" $(( rrss / 1024 )) "$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1048576}')"
done
