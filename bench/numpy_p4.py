"""P4 baseline: the model of crates/holdco-bench/src/bin/p4.rs, vectorised with numpy.

Unit u in 0..50: base revenue 1000 + 100u; yearly growth N(0.03 + 0.002u, 0.05 + 0.001u)
with a common factor of loading 0.3 (z = sqrt(0.3) F_t + sqrt(0.7) e_ut); margin
Triangular(0.05, 0.15, 0.25 + 0.001u) drawn once per path; DCF: free cash flow 0.7 x EBITA,
WACC Triangular(0.08, 0.09, 0.11) drawn once per path, terminal growth 0.02; value =
(1 - discount) x sum of unit values + 500, discount Triangular(0, 0.14, 0.30).

Paths are processed in batches (the whole cube would need 4 GB); only the per-path values
and year-10 revenues are kept, for the statistics. One core (numpy's element-wise
operations are single-threaded). Prints a JSON line: statistics and the best wall and CPU
times (process CPU time counts our work on a shared machine).

Usage: python3 bench/numpy_p4.py PATHS [REPEAT]
"""

import json
import sys
import time

import numpy as np

UNITS, YEARS, BATCH = 50, 10, 20_000


def run(paths, seed):
    rng = np.random.default_rng(seed)
    u = np.arange(UNITS, dtype=np.float64)
    revenue0 = 1000.0 + 100.0 * u
    g_mean, g_sd = 0.03 + 0.002 * u, 0.05 + 0.001 * u
    m_max = 0.25 + 0.001 * u
    a, b = np.sqrt(0.3), np.sqrt(0.7)
    values = np.empty(paths)
    revenue_last = np.empty(paths)
    for start in range(0, paths, BATCH):
        n = min(BATCH, paths - start)
        margin = rng.triangular(0.05, 0.15, m_max, size=(n, UNITS))
        wacc = rng.triangular(0.08, 0.09, 0.11, size=n)
        discount = rng.triangular(0.0, 0.14, 0.30, size=n)
        revenue = np.broadcast_to(revenue0, (n, UNITS)).copy()
        pv = np.zeros((n, UNITS))
        df = np.ones(n)
        for _t in range(YEARS):
            z = a * rng.standard_normal(n)[:, None] + b * rng.standard_normal((n, UNITS))
            revenue *= np.maximum(1.0 + g_mean + g_sd * z, 0.0)
            cash = 0.7 * revenue * margin
            df /= 1.0 + wacc
            pv += cash * df[:, None]
        terminal = df * 1.02 / (wacc - 0.02)
        pv += cash * terminal[:, None]
        values[start:start + n] = (1.0 - discount) * pv.sum(axis=1) + 500.0
        revenue_last[start:start + n] = revenue.sum(axis=1)
    return values, revenue_last


def main():
    paths = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    best = best_cpu = float("inf")
    for r in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        values, revenue_last = run(paths, 2026 + r)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    print(json.dumps({
        "paths": paths, "best": best, "best_cpu": best_cpu, "mean": float(values.mean()), "sd": float(values.std(ddof=1)),
        "p5": float(p5), "p50": float(p50), "p95": float(p95),
        "revenue_p50_last": float(np.median(revenue_last)), "numpy": np.__version__,
    }))


if __name__ == "__main__":
    main()
