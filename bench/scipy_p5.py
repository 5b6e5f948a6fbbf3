"""P5 baseline: solve the capital-plan LP exported by holdco (free MPS, maximisation) with
scipy.optimize.linprog(method="highs") and print the objective and the solve time.

Usage: python3 bench/scipy_p5.py target/p5.mps [--repeat N]
Only the linprog call is timed (reading the MPS file is not).
"""
import sys
import time

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix


def read_mps(path):
    """Reads the subset of free MPS holdco writes: N/L/G rows, COLUMNS, RHS, UP bounds."""
    section = None
    sense_max = False
    row_kind = {}
    row_order = []
    columns = {}
    column_order = []
    objective = {}
    entries = []  # (row name, column index, value)
    rhs = {}
    upper = {}
    with open(path) as handle:
        for line in handle:
            if not line.strip():
                continue
            if not line[0].isspace():
                section = line.split()[0]
                continue
            fields = line.split()
            if section == "OBJSENSE":
                sense_max = fields[0] == "MAX"
            elif section == "ROWS":
                kind, name = fields
                if kind != "N":
                    row_kind[name] = kind
                    row_order.append(name)
            elif section == "COLUMNS":
                name, row, value = fields[0], fields[1], float(fields[2])
                if name not in columns:
                    columns[name] = len(column_order)
                    column_order.append(name)
                j = columns[name]
                if row == "obj":
                    objective[j] = value
                else:
                    entries.append((row, j, value))
            elif section == "RHS":
                rhs[fields[1]] = float(fields[2])
            elif section == "BOUNDS":
                if fields[0] == "UP":
                    upper[columns[fields[2]]] = float(fields[3])
    n = len(column_order)
    row_index = {name: i for i, name in enumerate(row_order)}
    sign = np.array([1.0 if row_kind[name] == "L" else -1.0 for name in row_order])
    rows = np.array([row_index[r] for r, _, _ in entries], dtype=np.int64)
    cols = np.array([j for _, j, _ in entries], dtype=np.int64)
    vals = np.array([v for _, _, v in entries]) * sign[rows]
    a_ub = csr_matrix((vals, (rows, cols)), shape=(len(row_order), n))
    b_ub = np.array([rhs.get(name, 0.0) for name in row_order]) * sign
    c = np.zeros(n)
    for j, value in objective.items():
        c[j] = value
    if sense_max:
        c = -c
    # An (n, 2) array rather than a list of tuples: the fastest form linprog accepts.
    bounds = np.zeros((n, 2))
    bounds[:, 1] = np.inf
    for j, value in upper.items():
        bounds[j, 1] = value
    return c, a_ub, b_ub, bounds, sense_max


def main():
    args = sys.argv[1:]
    repeat = 3
    if "--repeat" in args:
        i = args.index("--repeat")
        repeat = int(args[i + 1])
        del args[i : i + 2]
    path = args[0] if args else "target/p5.mps"
    c, a_ub, b_ub, bounds, sense_max = read_mps(path)
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        times.append(time.perf_counter() - started)
    if result.status != 0:
        print(f"scipy: {result.message}")
        sys.exit(1)
    objective = -result.fun if sense_max else result.fun
    times.sort()
    print(
        f"scipy {__import__('scipy').__version__} linprog(method=\"highs\"): objective {objective:.9e}, "
        f"solve {times[0]:.3f} s (best of {repeat}; median {times[len(times) // 2]:.3f} s)"
    )
    print(f'{{"objective": {objective!r}, "seconds": {times[0]!r}}}')


if __name__ == "__main__":
    main()
