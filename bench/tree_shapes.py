#!/usr/bin/env python3
"""Issue 16 item 6: model folders of extreme tree shapes for roll-up timings.

Usage: bench/tree_shapes.py wide N DIR   # N units under the group
       bench/tree_shapes.py deep N DIR   # a chain N units deep (u1 under the group, u2 under u1 ...)

Each unit has revenue for 2020-01..2020-03 (a figure including everything below it) (so the quarter is built from months) and, at
2020-02-15, the chain's or the tree's last unit moves to the group (a restatement: the
restated quarter reads the structure after the move). Calendar-year periods.
"""
import os
import sys


def main():
    shape, n, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "group.toml"), "w") as f:
        f.write('[group]\nid = "g"\nname = "G"\ncurrency = "CNY"\nfiscal_year_end = "12-31"\n\n'
                '[[metric]]\nid = "revenue"\nname = "Revenue"\nmeasure = "currency"\naggregation = "flow"\n')
    with open(os.path.join(folder, "timeline.toml"), "w") as f:
        f.write('[[change]]\ndate = 2020-01-01\nkind = "create"\nunit = "g"\nname = "G"\nunit_kind = "group"\n\n')
        for i in range(1, n + 1):
            parent = "g" if shape == "wide" or i == 1 else f"u{i - 1}"
            f.write(f'[[change]]\ndate = 2020-01-01\nkind = "create"\nunit = "u{i}"\nname = "U{i}"\nparent = "{parent}"\n\n')
        f.write(f'[[change]]\ndate = 2020-02-15\nkind = "move"\nunit = "u{n}"\nparent = "g"\n\n')
    with open(os.path.join(folder, "facts.csv"), "w") as f:
        f.write("unit,period,metric,value\n")
        for i in range(1, n + 1):
            for month in (1, 2, 3):
                # A fact includes everything below its unit (docs/semantics.md 2.1): in the
                # chain each unit adds `month` of its own to the figure of the unit below.
                value = (n - i + 1) * month if shape == "deep" else i % 97 + month
                f.write(f"u{i},2020-{month:02},revenue,{value}\n")


if __name__ == "__main__":
    main()
