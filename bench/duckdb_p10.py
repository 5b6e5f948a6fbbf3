"""P10 baseline: the restated roll-up from a persisted DuckDB file, in a fresh process.

    python3 bench/duckdb_p10.py build TABLES_FOLDER DB_FILE
        Loads the CSV tables holdco-bench writes (facts, lineage weights, target-to-line map,
        FX rates, metric groups: the same as P1's) into a persisted DuckDB file. Not timed.

    python3 bench/duckdb_p10.py query DB_FILE METRIC[,METRIC...]|all RESULT_CSV [THREADS]
        One fresh process per query, as a user runs it: opens the file, runs the query that
        joins facts to the lineage-weight and unit-to-node tables and aggregates (for the
        metrics given, by their index in the model, or all), writes the answer to RESULT_CSV
        for holdco-bench to compare, and prints one JSON line: the seconds from before
        connecting to after fetching the answer (`seconds`), the seconds since the script
        started (`script_seconds`: after the interpreter's start, `import duckdb` included),
        rows, version.
"""
import json
import sys
import time

started = time.perf_counter()
import duckdb  # noqa: E402  (timed: part of what a fresh process pays)

QUERY = """
SELECT n.line, f.period, f.metric, SUM(f.value * r.rate * l.weight) AS value
FROM facts f
JOIN metric_group g ON g.metric = f.metric
JOIN lineage l ON l.unit = f.unit AND l.period = f.period AND l.grp = g.grp
JOIN node_of n ON n.target = l.target
JOIN rates r ON r.currency = f.currency AND r.period = f.period AND r.stock = g.stock
{where}
GROUP BY n.line, f.period, f.metric
"""


def build(folder, path):
    con = duckdb.connect(path)
    for name in ["facts", "lineage", "node_of", "rates", "metric_group"]:
        con.execute(f"DROP TABLE IF EXISTS {name}")
        con.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_csv('{folder}/{name}.csv', header = true)"
        )
    con.execute("CHECKPOINT")
    con.close()


def query(path, metrics, out, threads):
    start = time.perf_counter()
    con = duckdb.connect(path, read_only=True)
    con.execute(f"SET threads = {threads}")
    if metrics == "all":
        rows = con.execute(QUERY.format(where="")).fetchall()
    else:
        ids = [int(m) for m in metrics.split(",")]
        marks = ", ".join("?" for _ in ids)
        rows = con.execute(QUERY.format(where=f"WHERE f.metric IN ({marks})"), ids).fetchall()
    seconds = time.perf_counter() - start
    con.close()
    with open(out, "w") as handle:
        handle.write("line,period,metric,value\n")
        for line, period, metric, value in rows:
            handle.write(f"{line},{period},{metric},{value!r}\n")
    print(json.dumps({
        "seconds": seconds,
        "script_seconds": time.perf_counter() - started,
        "rows": len(rows),
        "threads": threads,
        "duckdb": duckdb.__version__,
    }))


if sys.argv[1] == "build":
    build(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "query":
    query(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else 2)
else:
    sys.exit(f"unknown mode {sys.argv[1]}: build or query")
