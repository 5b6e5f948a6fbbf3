#!/usr/bin/env python3
"""P9 helper: a copy of a model folder with N fact values revised (issue 11 item 2).

Usage: bench/p9_revise.py SOURCE TARGET N [STEP]

Rows to revise are spread evenly over the fact files (every (rows // N)-th data row); each
gets its value plus STEP (default 1). Files without a revised row are hard links to the
source's (nothing is copied), so a revised copy of a 358 MB folder costs one fact file.
"""
import os
import shutil
import sys


def main():
    source, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    step = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    if os.path.exists(target):
        shutil.rmtree(target)
    fact_files = []
    for root, _, names in os.walk(source):
        for name in sorted(names):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, source)
            os.makedirs(os.path.dirname(os.path.join(target, rel)), exist_ok=True)
            if rel == "facts.csv" or (rel.startswith("facts" + os.sep) and name.endswith(".csv")):
                fact_files.append(rel)
            else:
                os.link(path, os.path.join(target, rel))
    fact_files.sort()
    rows = 0
    for rel in fact_files:
        with open(os.path.join(source, rel), "rb") as f:
            rows += sum(1 for _ in f) - 1
    every = max(rows // max(n, 1), 1)
    seen = 0
    revised = 0
    for rel in fact_files:
        src = os.path.join(source, rel)
        with open(src, "rb") as f:
            lines = f.readlines()
        count = len(lines) - 1
        first = seen
        seen += count
        # Data rows of this file whose global index is a multiple of `every`.
        hits = [i for i in range(count) if (first + i) % every == every - 1]
        hits = hits[: max(n - revised, 0)]
        dst = os.path.join(target, rel)
        if not hits:
            os.link(src, dst)
            continue
        header = lines[0].decode().rstrip("\n").split(",")
        column = header.index("value")
        for i in hits:
            fields = lines[1 + i].decode().rstrip("\n").split(",")
            fields[column] = repr(float(fields[column]) + step)
            lines[1 + i] = (",".join(fields) + "\n").encode()
        revised += len(hits)
        with open(dst, "wb") as f:
            f.writelines(lines)
    print(f"{target}: {revised} of {rows} facts revised")


if __name__ == "__main__":
    main()
