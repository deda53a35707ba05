#!/usr/bin/env bash
# u2i2i latency, 50 seeds × 50 neighbours: the CLI path (each user answered afresh from the
# KV store) and HTTP (`onlinecf serve`) under C concurrent keep-alive clients on loopback.
# Usage: scripts/bench-recall.sh [USERS] [CLIENTS] [SECONDS]   (defaults 2000, 16, 20)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product onlinecf >/dev/null
bin="$(swift build -c release --show-bin-path)/onlinecf"
users="${1:-2000}" clients="${2:-16}" seconds="${3:-20}"
work="$(mktemp -d /tmp/onlinecf-recall.XXXXXX)"
export ONLINECF_HOME="$work/home"
cleanup() {
    [[ -n "${server_pid:-}" ]] && kill "$server_pid" 2>/dev/null
    redis-cli -s "$work/r.sock" shutdown nosave >/dev/null 2>&1 || true
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# Lists: itemcf:cosine (k = 50) over 500k generated events (20k users, 10k items), kept by
# a redis-server this script starts, shared by the CLI and the HTTP server.
redis-server --port 0 --unixsocket "$work/r.sock" --save "" --appendonly no --daemonize yes \
    --logfile "$work/r.log" --pidfile "$work/r.pid" >/dev/null
for _ in $(seq 100); do redis-cli -s "$work/r.sock" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
kv=(--redis "unix://$work/r.sock" --namespace bench)
"$bin" gen --events 500000 --users 20000 --items 10000 --seed 7 > "$work/events.jsonl"
"$bin" batch "${kv[@]}" --no-progress --algos itemcf:cosine -k 50 "$work/events.jsonl" 2>/dev/null
# u2i seeds: 50 distinct listed items per user, random weights (seeded).
"$bin" export "${kv[@]}" --algo itemcf:cosine | cut -f1 | uniq > "$work/items.txt"
python3 - "$work" "$users" <<'PY'
import random, sys
work, n = sys.argv[1], int(sys.argv[2])
items = open(f"{work}/items.txt").read().split()
rng = random.Random(7)
with open(f"{work}/seeds.tsv", "w") as seeds, open(f"{work}/users.txt", "w") as users:
    for u in range(n):
        users.write(f"bench-u{u}\n")
        for i in rng.sample(items, 50):
            seeds.write(f"bench-u{u}\t{i}\t{rng.uniform(0.1, 5):.6f}\n")
PY
"$bin" u2i load "${kv[@]}" "$work/seeds.tsv" 2>/dev/null
echo "data: 500,000 events, itemcf:cosine lists of 50; $users users with 50 u2i seeds each"

echo "== CLI: onlinecf u2i2i --users FILE --latency (-n 50, 50 seeds × 50 neighbours, lists read per user)"
"$bin" u2i2i "${kv[@]}" --users "$work/users.txt" --seeds u2i --latency > /dev/null

echo "== HTTP: onlinecf serve --connections 4; $clients clients for $seconds s"
"$bin" serve "${kv[@]}" --listen 127.0.0.1:0 --connections 4 2> "$work/serve.log" &
server_pid=$!
for _ in $(seq 100); do grep -q "serving http" "$work/serve.log" && break; sleep 0.1; done
url="$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1)"
python3 scripts/http-load.py --url "$url" --users-file "$work/users.txt" --query "seeds=u2i&n=50" -c "$clients" -d "$seconds"
