#!/usr/bin/env bash
# OnlineCF against its peers, alternating runs in one sitting, medians of --runs (default 3):
#   itemcf  onlinecf batch --exact --algos itemcf:cosine + export  vs  implicit 0.7.3 CosineRecommender
#   swing   onlinecf batch --algos swing + export                  vs  Apache Flink ML 2.3.0 Swing
#   stream  onlinecf run --algos cooccurrence over the 2 M set, this binary vs another (--old BINARY)
#   swing-stream  onlinecf run --algos swing -k 50 over ml-100k in timestamp order, this binary vs
#           another (--old BINARY); then each one's streamed lists against the exact batch lists
# Whole processes, wall time and peak RSS (GNU time). Lists are compared (equal up to the
# order of tied scores) with scripts/peer-implicit.py --compare.
#
# Peers are installed outside the repository (see docs/benchmarks.md):
#   IMPLICIT_PY=VENV/bin/python   (python3.11 -m venv VENV && VENV/bin/pip install implicit==0.7.3 scipy numpy)
#   FLINK_PY=VENV/bin/python      (python3.8 -m venv VENV && VENV/bin/pip install apache-flink-ml==2.3.0; Java 17)
#
# Usage: scripts/bench-peers.sh [--runs N] [--old BINARY] itemcf|swing|stream|swing-stream ...
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3 old=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --old) old="$2"; shift 2 ;;
        *) break ;;
    esac
done
[[ $# -gt 0 ]] || set -- itemcf swing
ml="${ML100K:-../shared/data/ml-100k.inter}"
work="${BENCH_DIR:-/tmp/onlinecf-bench}"
mkdir -p "$work"
# ONLINECF_BIN: a built binary to measure instead of building this checkout.
if [[ -n "${ONLINECF_BIN:-}" ]]; then
    bin="$ONLINECF_BIN"
else
    swift build -c release --product onlinecf >&2
    bin="$PWD/.build/release/onlinecf"
fi
implicit_py="${IMPLICIT_PY:-/opt/peer-implicit/bin/python}"
flink_py="${FLINK_PY:-/opt/peer-flink/bin/python}"
export JDK_JAVA_OPTIONS="${JDK_JAVA_OPTIONS:---add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.text=ALL-UNNAMED --add-opens=java.base/java.time=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED}"

# timed LABEL CMD...: runs CMD under GNU time, appends "LABEL seconds KiB" to $work/times.
timed() {
    local label="$1"; shift
    /usr/bin/time -f "$label %e %M" -a -o "$work/times" "$@"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
report() {
    local label="$1"
    local s m
    s=$(awk -v l="$label" '$1 == l {print $2}' "$work/times" | median)
    m=$(awk -v l="$label" '$1 == l {print $3}' "$work/times" | median)
    printf '%-28s median %6.2f s   peak RSS %5d MiB   (%d runs)\n' "$label" "$s" "$((${m%.*} / 1024))" "$(awk -v l="$label" '$1 == l' "$work/times" | wc -l)"
}

# The 2 M generated set, with integer ids in an .inter file both sides read.
gen2m() {
    [[ -f "$work/gen2m.inter" ]] && return
    "$bin" gen --events 2000000 --users 200000 --items 50000 --seed 42 > "$work/gen2m.jsonl"
    python3 - "$work/gen2m.jsonl" "$work/gen2m.inter" <<'EOF'
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as o:
    o.write("user_id:token\titem_id:token\ttimestamp:float\n")
    for line in f:
        d = json.loads(line)
        o.write(f"{d['user'][1:]}\t{d['item'][1:]}\t{d['ts'] // 1000}\n")
EOF
}

itemcf_on() {
    local name="$1" file="$2"
    export ONLINECF_HOME="$work/home-$name"
    rm -rf "$ONLINECF_HOME"
    for ((r = 0; r < runs; r++)); do
        timed "$name:onlinecf-batch" "$bin" batch --no-progress --format inter --exact --algos itemcf:cosine -k 50 "$file" 2>/dev/null
        timed "$name:onlinecf-export" "$bin" export --algo itemcf:cosine > "$work/$name-onlinecf.tsv"
        OPENBLAS_NUM_THREADS=2 timed "$name:implicit" "$implicit_py" -W ignore scripts/peer-implicit.py "$file" -k 50 --threads 2
        OPENBLAS_NUM_THREADS=2 timed "$name:implicit+write" "$implicit_py" -W ignore scripts/peer-implicit.py "$file" -k 50 --threads 2 -o "$work/$name-implicit.tsv"
    done
    "$implicit_py" scripts/peer-implicit.py --compare "$work/$name-implicit.tsv" "$work/$name-onlinecf.tsv"
    for l in onlinecf-batch onlinecf-export implicit implicit+write; do report "$name:$l"; done
}

rm -f "$work/times"
for what in "$@"; do
    case "$what" in
        itemcf)
            itemcf_on ml100k "$ml"
            gen2m
            itemcf_on gen2m "$work/gen2m.inter" ;;
        swing)
            export ONLINECF_HOME="$work/home-swing"
            rm -rf "$ONLINECF_HOME"
            for ((r = 0; r < runs; r++)); do
                timed "swing:onlinecf-batch" "$bin" batch --no-progress --format inter --algos swing -k 50 "$ml" 2>/dev/null
                timed "swing:onlinecf-export" "$bin" export --algo swing > "$work/swing-onlinecf.tsv"
                timed "swing:flink-ml" "$flink_py" scripts/peer-flink-swing.py "$ml" -k 50 -o "$work/swing-flink.tsv" > /dev/null 2>&1
            done
            "$implicit_py" scripts/peer-implicit.py --compare "$work/swing-flink.tsv" "$work/swing-onlinecf.tsv"
            for l in onlinecf-batch onlinecf-export flink-ml; do report "swing:$l"; done ;;
        stream)
            [[ -n "$old" ]] || { echo "stream needs --old BINARY (e.g. a build of an earlier commit)" >&2; exit 2; }
            gen2m
            export ONLINECF_HOME="$work/home-stream"
            for ((r = 0; r < runs; r++)); do
                for b in old new; do
                    exe="$bin"; [[ "$b" == old ]] && exe="$old"
                    rm -rf "$ONLINECF_HOME"
                    timed "stream:$b" "$exe" run --no-progress --algos cooccurrence < "$work/gen2m.jsonl" 2>> "$work/stream-$b.log"
                done
            done
            grep -h "events/s" "$work"/stream-*.log >&2 || true
            for l in old new; do report "stream:$l"; done ;;
        swing-stream)
            [[ -n "$old" ]] || { echo "swing-stream needs --old BINARY (e.g. a build of an earlier commit)" >&2; exit 2; }
            { head -1 "$ml"; tail -n +2 "$ml" | sort -t$'\t' -k4,4n -s; } > "$work/ml-by-time.inter"
            export ONLINECF_HOME="$work/home-swing-stream"
            rm -rf "$ONLINECF_HOME"
            "$bin" batch --no-progress --format inter --algos swing -k 50 "$ml" 2>/dev/null
            "$bin" export --algo swing > "$work/swing-batch.tsv"
            for ((r = 0; r < runs; r++)); do
                for b in old new; do
                    exe="$bin"; [[ "$b" == old ]] && exe="$old"
                    rm -rf "$ONLINECF_HOME"
                    timed "swing-stream:$b" "$exe" run --no-progress --format inter --algos swing -k 50 < "$work/ml-by-time.inter" 2>> "$work/swing-stream-$b.log"
                    "$exe" export --algo swing > "$work/swing-stream-$b.tsv"
                done
            done
            grep -h "events/s" "$work"/swing-stream-*.log >&2 || true
            for b in old new; do echo "$b: $(python3 scripts/swing-overlap.py "$work/swing-stream-$b.tsv" "$work/swing-batch.tsv")"; done
            for l in old new; do report "swing-stream:$l"; done ;;
        *) echo "unknown scenario '$what': itemcf, swing, stream or swing-stream" >&2; exit 2 ;;
    esac
done
