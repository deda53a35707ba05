#!/usr/bin/env python3
"""Load test of `onlinecf serve`: C keep-alive clients GET /v1/u2i2i/{user} for D seconds.

Python 3 standard library only (threads + http.client). Each client thread keeps one
HTTP/1.1 connection open and requests users round-robin from the list (each thread
starting at a different offset); at the end it prints requests/s, the latency p50, p99
and max, and the count of non-200 answers.

    scripts/http-load.py --url http://127.0.0.1:8080 --users u1,u2,u3 -c 8 -d 10
    scripts/http-load.py --users-file users.txt --query 'n=50&algo=swing' -c 4 -d 30

Only for servers on this machine or your own test hosts: the request loop is bounded by
--duration and stops by itself.
"""

import argparse
import http.client
import sys
import threading
import time
import urllib.parse


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def client(host, port, paths, offset, deadline, results, errors, lock):
    latencies = []
    statuses = {}
    failures = 0
    conn = http.client.HTTPConnection(host, port, timeout=30)
    i = offset
    while time.monotonic() < deadline:
        path = paths[i % len(paths)]
        i += 1
        start = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Accept": "application/json"})
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            failures += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
            time.sleep(0.01)
            continue
        latencies.append(time.perf_counter() - start)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.close()
    with lock:
        results.extend(latencies)
        for status, n in statuses.items():
            errors[status] = errors.get(status, 0) + n
        errors["connection errors"] = errors.get("connection errors", 0) + failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the server (default: %(default)s)")
    parser.add_argument("--users", help="comma-separated user ids")
    parser.add_argument("--users-file", help="a file of user ids, one a line")
    parser.add_argument("--query", default="", help="query string added to every request, e.g. 'n=50&explain=false'")
    parser.add_argument("-c", "--concurrency", type=int, default=4, help="concurrent clients (default: %(default)s)")
    parser.add_argument("-d", "--duration", type=float, default=10.0, help="seconds (default: %(default)s, at most 600)")
    args = parser.parse_args()

    users = []
    if args.users:
        users += [u for u in args.users.split(",") if u]
    if args.users_file:
        with open(args.users_file, encoding="utf-8") as f:
            users += [line.rstrip("\r\n") for line in f if line.strip()]
    if not users:
        parser.error("give --users or --users-file")
    if not 1 <= args.concurrency <= 1024:
        parser.error("--concurrency must be 1..1024")
    if not 0 < args.duration <= 600:
        parser.error("--duration must be in (0, 600]")

    url = urllib.parse.urlsplit(args.url)
    if url.scheme != "http" or not url.hostname:
        parser.error("--url must be http://HOST:PORT")
    host, port = url.hostname, url.port or 80
    suffix = "?" + args.query if args.query else ""
    paths = ["/v1/u2i2i/" + urllib.parse.quote(u, safe="") + suffix for u in users]

    results, statuses, lock = [], {}, threading.Lock()
    start = time.monotonic()
    deadline = start + args.duration
    threads = [threading.Thread(target=client, args=(host, port, paths, n * 7919, deadline, results, statuses, lock), daemon=True)
               for n in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.duration + 60)
    elapsed = time.monotonic() - start

    results.sort()
    ok = statuses.get(200, 0)
    others = {k: v for k, v in statuses.items() if k != 200 and v}
    print(f"{len(results)} requests in {elapsed:.1f} s with {args.concurrency} clients over {len(users)} users: "
          f"{len(results) / elapsed:,.0f} requests/s")
    print(f"latency p50 {percentile(results, 50) * 1000:.2f} ms, p99 {percentile(results, 99) * 1000:.2f} ms, "
          f"max {(results[-1] if results else float('nan')) * 1000:.2f} ms")
    print(f"200: {ok}" + ("" if not others else "  other: " + ", ".join(f"{k}: {v}" for k, v in sorted(others.items(), key=str))))
    return 0 if ok > 0 and not others else 1


if __name__ == "__main__":
    sys.exit(main())
