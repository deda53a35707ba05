#!/usr/bin/env bash
# Several workers dividing the model: the 2 M generated set as a `file:` source,
# `--algos cooccurrence`, run by 1 worker and then by N workers started together (each an
# `onlinecf run --workers N --worker I` process on one shared redis-server). Prints, per run,
# each worker's wall time, CPU seconds (user + system) and peak RSS, and their ratios to the
# one worker's; checks that every exported list family is byte-identical to one worker's.
#
# Usage: scripts/bench-workers.sh [--runs R] [--events N] [WORKER COUNTS…]   (default: 2 4)
# ONLINECF_BIN may name the binary (default: the release build); WORKER_OPTIONS adds options
# to the runs of several workers (e.g. "--threads 1" when four share two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=1 events=2000000
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --events) events="$2"; shift 2 ;;
        *) break ;;
    esac
done
counts=("$@"); [[ ${#counts[@]} -gt 0 ]] || counts=(2 4)
if [[ -z "${ONLINECF_BIN:-}" ]]; then swift build -c release --product onlinecf >&2; fi
bin="${ONLINECF_BIN:-$PWD/.build/release/onlinecf}"
work="${BENCH_DIR:-/tmp/onlinecf-bench-workers}"
mkdir -p "$work"
data="$work/events-$events.jsonl"
[[ -s "$data" ]] || "$bin" gen --events "$events" --users $((events / 10)) --items $((events / 40)) --seed 42 > "$data"
port="${BENCH_PORT:-6398}"
redis-server --port "$port" --save '' --appendonly no --daemonize yes --logfile "$work/redis.log" >/dev/null
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
options=(--source "file:$data" --algos cooccurrence --no-progress --redis "redis://127.0.0.1:$port")
families=(itemcf:cooccurrence itemcf:cosine itemcf:jaccard itemcf:lift u2u:cosine a2a:cosine)

# run NS N: N workers on namespace NS, started together; one line "wall cpu rss" per worker.
run() {
    local ns="$1" n="$2" i
    redis-cli -p "$port" flushall >/dev/null
    for ((i = 0; i < n; i++)); do
        /usr/bin/time -f "%e %U %S %M" -o "$work/time-$i" "$bin" run "${options[@]}" --namespace "$ns" --workers "$n" --worker "$i" \
            $([[ $n -gt 1 ]] && echo "${WORKER_OPTIONS:-}") \
            2> "$work/log-$ns-$i" &
    done
    wait
    for ((i = 0; i < n; i++)); do awk '{ printf "%s %.2f %d\n", $1, $2 + $3, $4 / 1024 }' "$work/time-$i"; done
}

export_all() {  # NS → one file per family
    for f in "${families[@]}"; do "$bin" export --algo "$f" --namespace "$1" --redis "redis://127.0.0.1:$port" > "$work/export-$1-${f/:/-}.tsv"; done
}

echo "| run | worker | wall s | CPU s | peak RSS MiB | CPU / one worker's | RSS / one worker's |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for ((r = 1; r <= runs; r++)); do
    read -r wall1 cpu1 rss1 < <(run one 1)
    export_all one
    echo "| $r: 1 worker | 0 | $wall1 | $cpu1 | $rss1 | 1 | 1 |"
    for n in "${counts[@]}"; do
        total=0 i=0
        while read -r wall cpu rss; do
            printf "| %s: %d workers | %d | %s | %s | %s | %.2f | %.2f |\n" "$r" "$n" "$i" "$wall" "$cpu" "$rss" \
                "$(awk -v a="$cpu" -v b="$cpu1" 'BEGIN{print a/b}')" "$(awk -v a="$rss" -v b="$rss1" 'BEGIN{print a/b}')"
            total=$(awk -v a="$total" -v b="$cpu" 'BEGIN{print a+b}')
            i=$((i + 1))
        done < <(run "w$n" "$n")
        printf "| %s: %d workers | all | | %.2f | | %.2f | |\n" "$r" "$n" "$total" "$(awk -v a="$total" -v b="$cpu1" 'BEGIN{print a/b}')"
        export_all "w$n"
        for f in "${families[@]}"; do
            cmp -s "$work/export-one-${f/:/-}.tsv" "$work/export-w$n-${f/:/-}.tsv" || echo "DIFFERENT: $f, $n workers vs 1" >&2
        done
    done
done
