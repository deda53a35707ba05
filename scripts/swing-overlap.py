#!/usr/bin/env python3
"""Agreement of two Swing exports (`onlinecf export --algo swing`): for every item with a
list in the reference (exact batch), the share of its top-K that the other list also holds.
Prints the mean and the 10th percentile. Usage: swing-overlap.py STREAM.tsv BATCH.tsv"""
import sys
from collections import defaultdict

def load(path):
    lists = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for line in f:
            item, neighbour, _ = line.rstrip("\n").split("\t")
            lists[item].append(neighbour)
    return lists

stream, batch = load(sys.argv[1]), load(sys.argv[2])
shares = sorted(len(set(stream.get(i, [])) & set(ref)) / len(ref) for i, ref in batch.items())
mean = sum(shares) / len(shares)
p10 = shares[int(0.1 * (len(shares) - 1))]
print(f"items: {len(shares)}  mean overlap: {mean:.3f}  p10: {p10:.3f}  exact lists: {sum(s == 1.0 for s in shares)}")
