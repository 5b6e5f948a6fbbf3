"""P3 baseline: DuckDB's read_csv of the same fact files into an in-memory table.

Prints one JSON line with the best seconds over the runs and the rows read.
"""
import json
import sys
import time

import duckdb

pattern = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
times = []
rows = 0
for _ in range(runs):
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {threads}")
    start = time.perf_counter()
    con.execute(f"CREATE TABLE facts AS SELECT * FROM read_csv('{pattern}', header = true)")
    times.append(time.perf_counter() - start)
    rows = con.execute("SELECT count(*) FROM facts").fetchone()[0]
    con.close()
print(json.dumps({"best": min(times), "rows": rows, "threads": threads}))
