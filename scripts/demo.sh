#!/usr/bin/env bash
# The demo: installs what is missing, builds onlinecf, streams 200,000 generated events
# through it (with its private redis-server), and reads lists back from the KV store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product onlinecf
bin="$(swift build -c release --show-bin-path)/onlinecf"
export ONLINECF_HOME="${ONLINECF_HOME:-$PWD/.onlinecf-demo}"
rm -rf "$ONLINECF_HOME"

echo "== onlinecf gen --events 200000 --users 20000 --items 5000 | onlinecf run --emit-interval 1s --recall swing:0.6,itemcf:cosine:0.4"
"$bin" gen --events 200000 --users 20000 --items 5000 --seed 7 | "$bin" run --emit-interval 1s --recall swing:0.6,itemcf:cosine:0.4 --no-progress

echo
echo "== onlinecf export --algo popular | head -5     (what is popular now: u2i2i's fallback for cold users)"
"$bin" export --algo popular | head -5
item="$("$bin" export --algo popular | head -1 | cut -f2)"
echo
echo "== onlinecf i2i $item --algo itemcf:cosine -k 10   (the most popular item's neighbours)"
"$bin" i2i "$item" --algo itemcf:cosine -k 10
echo
echo "== onlinecf i2i $item --algo swing -k 10      (the same item, streaming Swing: rows recomputed exactly at each emission)"
"$bin" i2i "$item" --algo swing -k 10
echo
echo "== onlinecf u2u u1 -k 5                          (a user's similar users)"
"$bin" u2u u1 -k 5
echo
echo "== onlinecf a2a a1 -k 5                          (an author's similar authors)"
"$bin" a2a a1 -k 5
echo
echo "== onlinecf u2i2i u1 -n 5 --algo swing:0.6,itemcf:cosine:0.4 --explain   (u2i2i recall from u1's recent items)"
"$bin" u2i2i u1 -n 5 --algo swing:0.6,itemcf:cosine:0.4 --explain | head -15
echo
echo "== onlinecf u2i2i newcomer -n 3 --explain   (a user with no history: the popular fallback)"
"$bin" u2i2i newcomer -n 3 --explain 2>/dev/null
echo
top="$("$bin" i2i "$item" --algo itemcf:cosine -k 1 | cut -f1)"
echo "== onlinecf items set $top --status hidden; onlinecf i2i $item -k 3   (moderation: hidden items are never served)"
"$bin" items set "$top" --status hidden
"$bin" i2i "$item" --algo itemcf:cosine -k 3
"$bin" items set "$top" --status active
echo
echo "== the same list read with redis-cli from the private server:"
redis-server --port 0 --unixsocket "$ONLINECF_HOME/cli.sock" --dir "$ONLINECF_HOME" --dbfilename dump.rdb --daemonize yes \
    --pidfile "$ONLINECF_HOME/cli.pid" --logfile "$ONLINECF_HOME/cli.log" >/dev/null
for _ in $(seq 600); do redis-cli -s "$ONLINECF_HOME/cli.sock" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
echo "redis-cli -s $ONLINECF_HOME/cli.sock ZRANGE ocf:i2i:itemcf:cosine:$item 0 4 REV WITHSCORES"
redis-cli -s "$ONLINECF_HOME/cli.sock" ZRANGE "ocf:i2i:itemcf:cosine:$item" 0 4 REV WITHSCORES
redis-cli -s "$ONLINECF_HOME/cli.sock" shutdown nosave >/dev/null 2>&1 || true
