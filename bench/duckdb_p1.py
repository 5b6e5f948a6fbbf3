"""P1 baseline: the restated roll-up as DuckDB SQL over the same data, already in memory.

Reads the CSV tables holdco-bench writes (facts, lineage weights, target-to-line map, FX
rates, metric groups), loads them into in-memory DuckDB tables (not timed), then times the
query that joins facts to the lineage-weight table and the unit-to-node table and
aggregates. Prints one JSON line: best and median seconds, threads, result rows; writes the
result to result.csv for holdco-bench to compare.
"""
import json
import statistics
import sys
import time

import duckdb

folder = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2

con = duckdb.connect(":memory:")
con.execute(f"SET threads = {threads}")
for name in ["facts", "lineage", "node_of", "rates", "metric_group"]:
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{folder}/{name}.csv', header = true)")

QUERY = """
SELECT n.line, f.period, f.metric, SUM(f.value * r.rate * l.weight) AS value
FROM facts f
JOIN metric_group g ON g.metric = f.metric
JOIN lineage l ON l.unit = f.unit AND l.period = f.period AND l.grp = g.grp
JOIN node_of n ON n.target = l.target
JOIN rates r ON r.currency = f.currency AND r.period = f.period AND r.stock = g.stock
GROUP BY n.line, f.period, f.metric
"""

times = []
result = None
for _ in range(runs):
    start = time.perf_counter()
    result = con.execute(QUERY).fetchall()
    times.append(time.perf_counter() - start)

with open(f"{folder}/result.csv", "w") as out:
    out.write("line,period,metric,value\n")
    for line, period, metric, value in result:
        out.write(f"{line},{period},{metric},{value!r}\n")

print(json.dumps({"best": min(times), "median": statistics.median(times), "threads": threads, "rows": len(result), "duckdb": duckdb.__version__}))
