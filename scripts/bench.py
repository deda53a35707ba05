#!/usr/bin/env python3
"""OnlineCF's benchmark suite: the scenarios of the performance targets, end to end.

Builds the release binary, generates seeded events, starts a fresh redis-server (unix
socket, no persistence) for every run, runs each scenario --runs times and prints one
table of medians (and JSON with --json FILE). Every figure comes from the program's own
run summary (events/s, KV commands counted by the client, freshness percentiles, peak
RSS) or from Redis (INFO memory).

    scripts/bench.py                      # the figures of docs/benchmarks.md: 2,000,000 events, 3 runs
    scripts/bench.py --quick              # 200,000 events, 1 run, 10 s freshness: about a minute
    scripts/bench.py --events 500000 --runs 1 --json bench.json --only run-cooccurrence,freshness
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ML100K = os.path.join(ROOT, "..", "shared", "data", "ml-100k.inter")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


class Redis:
    """A throwaway redis-server on a unix socket."""
    def __init__(self, work):
        self.dir = tempfile.mkdtemp(dir=work)
        self.sock = os.path.join(self.dir, "r.sock")
        self.proc = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", self.sock, "--save", "",
                                      "--appendonly", "no", "--dir", self.dir], stdout=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(self.sock) and self.cli("ping").strip() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-s", self.sock, *args], capture_output=True, text=True).stdout

    @property
    def url(self):
        return "unix://" + self.sock

    def used_memory(self):
        info = self.cli("info", "memory")
        return int(re.search(r"^used_memory:(\d+)", info, re.M).group(1)), int(self.cli("dbsize").strip())

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def parse_summary(text):
    """The figures of an `onlinecf run`/`batch` summary on stderr."""
    out = {}
    m = re.search(r"events: (\d+)", text)
    if m: out["events"] = int(m.group(1))
    m = re.search(r"KV commands: (\d+) \(([\d.]+) per event\)\s+time: ([\d.]+) s\s+\((\d+) events/s", text)
    if m:
        out.update(kv_commands=int(m.group(1)), kv_commands_per_event=float(m.group(2)),
                   seconds=float(m.group(3)), events_per_second=int(m.group(4)))
    m = re.search(r"freshness \(read → lists written\): p50 ([\d.]+) s, p99 ([\d.]+) s", text)
    if m: out.update(freshness_p50_s=float(m.group(1)), freshness_p99_s=float(m.group(2)))
    m = re.search(r"peak RSS: (\d+) MiB", text)
    if m: out["peak_rss_mib"] = int(m.group(1))
    m = re.search(r"exact Swing rebuilds: \d+ \(([\d.]+) s\)", text)
    if m: out["swing_seconds"] = float(m.group(1))
    m = re.search(r"emissions: (\d+)\s+lists written: (\d+)", text)
    if m: out.update(emissions=int(m.group(1)), lists_written=int(m.group(2)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=2_000_000, help="generated events (users = events/10, items = events/40)")
    ap.add_argument("--runs", type=int, default=3, help="runs per scenario; the table shows medians")
    ap.add_argument("--rate", type=int, default=10_000, help="freshness scenario: events per second")
    ap.add_argument("--freshness-seconds", type=int, default=60, help="freshness scenario: how long the paced input lasts")
    ap.add_argument("--quick", action="store_true", help="200,000 events, 1 run, 10 s of paced input")
    ap.add_argument("--only", help="comma-separated scenario names")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--binary", help="use this onlinecf instead of building the release one")
    a = ap.parse_args()
    if a.quick:
        a.events, a.runs, a.freshness_seconds = 200_000, 1, 10

    sh([os.path.join(ROOT, "scripts", "install-deps.sh")])
    binary = a.binary
    if not binary:
        sh(["swift", "build", "-c", "release", "--product", "onlinecf"], cwd=ROOT, stdout=subprocess.DEVNULL)
        binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip() + "/onlinecf"
    work = tempfile.mkdtemp(prefix="onlinecf-bench.")
    events = os.path.join(work, "events.jsonl")
    users, items = a.events // 10, a.events // 40
    with open(events, "wb") as f:
        sh([binary, "gen", "--events", str(a.events), "--users", str(users), "--items", str(items), "--seed", "42"], stdout=f)

    def job(args, stdin_path=None, stdin_cmd=None, memory=False):
        redis = Redis(work)
        try:
            cmd = [binary] + args + ["--redis", redis.url, "--no-progress"]
            if stdin_cmd:
                feeder = subprocess.Popen(stdin_cmd, stdout=subprocess.PIPE)
                r = subprocess.run(cmd, stdin=feeder.stdout, capture_output=True, text=True)
                feeder.wait()
            else:
                with open(stdin_path or os.devnull, "rb") as f:
                    r = subprocess.run(cmd, stdin=f, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr[-2000:]}")
            out = parse_summary(r.stderr)
            if memory:
                out["redis_used_memory"], out["redis_keys"] = redis.used_memory()
            return out
        finally:
            redis.stop()

    n_paced = a.rate * a.freshness_seconds
    scenarios = [
        ("run-cooccurrence", f"run --algos cooccurrence, {a.events:,} events on stdin",
         lambda: job(["run", "--algos", "cooccurrence"], stdin_path=events, memory=True)),
        ("run-all", f"run (with streaming Swing), {a.events:,} events on stdin",
         lambda: job(["run", "--algos", "all"], stdin_path=events)),
        ("batch-swing", f"batch --algos swing -k 50, {a.events:,} events",
         lambda: job(["batch", "--algos", "swing", "-k", "50", events])),
        ("freshness", f"run --algos itemcf:cosine --emit-interval 1s, {a.rate:,} events/s for {a.freshness_seconds} s",
         lambda: job(["run", "--algos", "itemcf:cosine", "--emit-interval", "1s"],
                     stdin_cmd=[binary, "gen", "--events", str(n_paced), "--users", "200000", "--items", "50000", "--rate", str(a.rate)])),
        ("freshness-cooccurrence", f"run --algos cooccurrence --emit-interval 1s, {a.rate:,} events/s for {a.freshness_seconds} s",
         lambda: job(["run", "--algos", "cooccurrence", "--emit-interval", "1s"],
                     stdin_cmd=[binary, "gen", "--events", str(n_paced), "--users", "200000", "--items", "50000", "--rate", str(a.rate)])),
    ]
    if os.path.exists(ML100K):
        scenarios.append(("ml100k-batch-swing", "ml-100k: batch --format inter --algos swing -k 50 (Flink ML defaults)",
                          lambda: job(["batch", "--format", "inter", "--algos", "swing", "-k", "50", ML100K])))
    only = set(a.only.split(",")) if a.only else None
    results = {}
    for name, title, run in scenarios:
        if only and name not in only:
            continue
        samples = []
        for i in range(a.runs):
            print(f"[{name}] run {i + 1}/{a.runs} …", file=sys.stderr, flush=True)
            samples.append(run())
        keys = sorted(set().union(*samples))
        median = {k: statistics.median(s[k] for s in samples if k in s) for k in keys}
        results[name] = {"title": title, "runs": samples, "median": median}

    cols = [("seconds", "time s"), ("events_per_second", "events/s"), ("kv_commands_per_event", "KV cmds/event"),
            ("freshness_p50_s", "fresh p50 s"), ("freshness_p99_s", "fresh p99 s"), ("peak_rss_mib", "peak RSS MiB"),
            ("swing_seconds", "Swing s"), ("redis_used_memory", "Redis used_memory B")]
    print(f"\nmachine: {os.cpu_count()} cores, {subprocess.run(['redis-server', '--version'], capture_output=True, text=True).stdout.split()[2].removeprefix('v=')}; "
          f"{a.events:,} events ({users:,} users, {items:,} items), median of {a.runs} run(s)\n")
    print("| scenario | " + " | ".join(c[1] for c in cols) + " |")
    print("| --- | " + " | ".join("---" for _ in cols) + " |")
    for name, r in results.items():
        m = r["median"]
        cells = []
        for k, _ in cols:
            v = m.get(k)
            cells.append("" if v is None else (f"{v:,.0f}" if isinstance(v, (int,)) or (isinstance(v, float) and v >= 1000) else f"{v:g}"))
        print(f"| {r['title']} | " + " | ".join(cells) + " |")
    if "run-cooccurrence" in results:
        m = results["run-cooccurrence"]["median"]
        if m.get("redis_keys"):
            print(f"\nRedis after run-cooccurrence: used_memory {m['redis_used_memory']:,.0f} B for {m['redis_keys']:,.0f} keys "
                  f"({m['redis_used_memory'] / m['redis_keys']:,.0f} B per key)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"events": a.events, "runs": a.runs, "results": results}, f, indent=2)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
