#!/usr/bin/env python3
"""The Apache Flink ML peer of `onlinecf batch --algos swing`: Flink ML 2.3's Swing job.

Reads an .inter file (RecBole's header; user and item ids must be integers, as Flink ML's
Swing takes LONG columns), runs Flink ML's Swing in streaming mode with parallelism 1,
k = 50 and every other parameter at its default, and writes each item's list in
`onlinecf export`'s format (item TAB neighbour TAB score), ordered like onlinecf's
(score descending, ties by neighbour id byte-wise).

Install outside the repository (Python 3.8, Java 17; see docs/benchmarks.md):
    python3.8 -m venv VENV && VENV/bin/pip install apache-flink-ml==2.3.0
    export JDK_JAVA_OPTIONS="--add-exports=... --add-opens=..."   (see ../shared/README.md)
Run:
    VENV/bin/python scripts/peer-flink-swing.py ml-100k.inter -k 50 -o flink.tsv
"""
import argparse
import time


def read_pairs(path):
    pairs = []
    with open(path, "rb") as f:
        header = f.readline().rstrip(b"\n").split(b"\t")
        ui = next(i for i, h in enumerate(header) if h.startswith(b"user_id"))
        ii = next(i for i, h in enumerate(header) if h.startswith(b"item_id"))
        for line in f:
            p = line.rstrip(b"\n").split(b"\t")
            if len(p) > max(ui, ii):
                pairs.append((int(p[ui]), int(p[ii])))
    return pairs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    p.add_argument("-k", type=int, default=50)
    p.add_argument("-o", "--output")
    args = p.parse_args()

    from pyflink.common import Types
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment
    from pyflink.ml.recommendation.swing import Swing

    started = time.time()
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    t_env = StreamTableEnvironment.create(env)
    rows = read_pairs(args.file)
    stream = env.from_collection(rows, type_info=Types.ROW_NAMED(["user", "item"], [Types.LONG(), Types.LONG()]))
    table = t_env.from_data_stream(stream)
    swing = Swing().set_user_col("user").set_item_col("item").set_k(args.k)
    output = swing.transform(table)[0]
    lists = {}
    with t_env.to_data_stream(output).execute_and_collect() as results:
        for row in results:
            item, text = row[0], row[1]
            entries = []
            for part in (text or "").split(";"):
                if part:
                    n, s = part.split(",")
                    entries.append((float(s), n))
            entries.sort(key=lambda x: (-x[0], x[1].encode()))
            lists[str(item)] = entries
    print(f"flink ml swing: {len(lists)} lists in {time.time() - started:.1f} s (job and collection)", flush=True)
    if args.output:
        with open(args.output, "w") as out:
            for item in sorted(lists, key=lambda s: s.encode()):
                for score, n in lists[item]:
                    out.write(f"{item}\t{n}\t{score!r}\n")


if __name__ == "__main__":
    main()
