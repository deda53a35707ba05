#!/usr/bin/env python3
"""The implicit peer of `onlinecf batch --exact --algos itemcf:cosine`: ItemCF cosine top-k.

Reads an event file (an .inter file with RecBole's header, or onlinecf's JSON lines),
builds the binary user x item matrix, fits implicit's CosineRecommender(K=k+1) and
writes each item's top k non-self neighbours in `onlinecf export`'s format
(item TAB neighbour TAB score), so the two outputs can be compared with --compare.

Install implicit outside the repository (see docs/benchmarks.md):
    python3.11 -m venv VENV && VENV/bin/pip install implicit==0.7.3 scipy numpy
Run:
    OPENBLAS_NUM_THREADS=2 VENV/bin/python scripts/peer-implicit.py FILE -k 50 --threads 2 -o implicit.tsv
Compare with an onlinecf export (equal up to the order of tied scores, scores within 1e-9):
    VENV/bin/python scripts/peer-implicit.py --compare implicit.tsv onlinecf.tsv
"""
import argparse
import json
import sys


def read_pairs(path):
    users, items, rows, cols = {}, {}, [], []
    with open(path, "rb") as f:
        first = f.readline()
        if first.startswith(b"user_id"):
            header = first.rstrip(b"\n").split(b"\t")
            ui = next(i for i, h in enumerate(header) if h.startswith(b"user_id"))
            ii = next(i for i, h in enumerate(header) if h.startswith(b"item_id"))
            lines = f
            parse = lambda line: (lambda p: (p[ui], p[ii]))(line.rstrip(b"\n").split(b"\t"))
        else:
            lines = [first] + list(f)
            parse = lambda line: (lambda o: (o["user"], o["item"]))(json.loads(line))
        for line in lines:
            if not line.strip():
                continue
            u, i = parse(line)
            rows.append(users.setdefault(u, len(users)))
            cols.append(items.setdefault(i, len(items)))
    return users, items, rows, cols


def read_numeric_inter(path):
    """An .inter file whose columns are all numbers, parsed by numpy in one pass (the
    fast path, for integer ids); None when the file is anything else."""
    import numpy as np
    with open(path, "rb") as f:
        first = f.readline()
        if not first.startswith(b"user_id"):
            return None
        header = first.rstrip(b"\n").split(b"\t")
        try:
            table = np.array(f.read().split(), dtype=np.float64).reshape(-1, len(header))
        except ValueError:
            return None
    ui = next(i for i, h in enumerate(header) if h.startswith(b"user_id"))
    ii = next(i for i, h in enumerate(header) if h.startswith(b"item_id"))
    return table[:, ui].astype(np.int64), table[:, ii].astype(np.int64)


def fit(path, k, threads):
    import numpy as np
    import scipy.sparse as sp
    from implicit.nearest_neighbours import CosineRecommender

    numeric = read_numeric_inter(path)
    if numeric is not None:
        user_ids, item_ids = numeric
        users_unique, rows = np.unique(user_ids, return_inverse=True)
        items_unique, cols = np.unique(item_ids, return_inverse=True)
        items = {str(int(v)): n for n, v in enumerate(items_unique)}
        n_users = len(users_unique)
    else:
        users, items, rows, cols = read_pairs(path)
        n_users = len(users)
    m = sp.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(n_users, len(items)))
    m.data[:] = 1.0  # binary: a repeated (user, item) pair counts once
    model = CosineRecommender(K=k + 1, num_threads=threads)
    model.fit(m, show_progress=False)
    return items, model.similarity.tocsr()


def write(items, sim, k, out):
    names = [None] * len(items)
    for name, index in items.items():
        names[index] = name.decode() if isinstance(name, bytes) else str(name)
    for a in range(sim.shape[0]):
        start, end = sim.indptr[a], sim.indptr[a + 1]
        row = [(float(s), names[b]) for b, s in zip(sim.indices[start:end], sim.data[start:end]) if b != a and s > 0]
        row.sort(key=lambda x: (-x[0], x[1].encode()))
        for score, b in row[:k]:
            out.write(f"{names[a]}\t{b}\t{score!r}\n")


def compare(a_path, b_path, tolerance=1e-9):
    """Lists equal up to ties: the same scores position by position (within `tolerance`
    relative), and the same neighbours except inside a group of tied scores, where either
    side may order them (and cut the last group at k) differently."""
    def load(path):
        lists = {}
        with open(path) as f:
            for line in f:
                e, n, s = line.rstrip("\n").split("\t")
                lists.setdefault(e, []).append((n, float(s)))
        return lists

    def close(x, y):
        return abs(x - y) <= tolerance * max(abs(x), abs(y))

    def same(la, lb):
        if len(la) != len(lb) or not all(close(x[1], y[1]) for x, y in zip(la, lb)):
            return False
        last = la[-1][1] if la else 0
        sa = dict(la)
        # Every neighbour scoring clearly above the cut is on both sides with its score.
        return all(n in sa and close(sa[n], s) for n, s in lb if not close(s, last))

    a, b = load(a_path), load(b_path)
    differ = [e for e in set(a) | set(b) if not same(a.get(e, []), b.get(e, []))]
    print(f"{len(a)} and {len(b)} lists, {len(differ)} differ beyond ties (scores within {tolerance:g})"
          + (f", e.g. {sorted(differ)[:5]}" if differ else ""), file=sys.stderr)
    return 0 if not differ else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", nargs="?")
    p.add_argument("-k", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("-o", "--output", help="write the lists here (default: not written)")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two export files and exit")
    args = p.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    items, sim = fit(args.file, args.k, args.threads)
    if args.output:
        with open(args.output, "w") as out:
            write(items, sim, args.k, out)


if __name__ == "__main__":
    main()
