"""P8 baseline: the same as-of questions asked of DuckDB over the role intervals holdco
replayed (one row per person, role, unit and span).

argv: holdings.csv database date runs persons.txt born_from [fetch]

DuckDB gets its best settings: a persisted table (built from the CSV once, into `database`,
and reopened by every round as a fresh process would), 2 threads, the open end of a span
stored as the date `infinity` so the as-of test is two comparisons without an OR, the rows
sorted by first day so zone maps skip the row groups that start after the date, the cohorts
counted over the distinct (unit, person) pairs instead of three count(DISTINCT)s, and the
answer kept as Arrow (`fetch=arrow`, the default: no Python object per row; `fetchall` and
`table` — the answer materialised inside DuckDB — are the alternatives measured).

Prints one JSON line: load seconds (opening the persisted table), build seconds (CSV to
table, only when the database was made by this run), median seconds of the leaders-on-a-date
query plus the cohort-per-unit query (wall, and CPU of the process over all its threads),
median seconds of one person's history, and the answers' sizes.
"""
import json
import os
import statistics
import sys
import time

import duckdb

path, database, date, runs, persons_path, born_from = (
    sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
fetch = sys.argv[7] if len(sys.argv) > 7 else "arrow"
persons = [line.strip() for line in open(persons_path) if line.strip()]

build = None
if not os.path.exists(database):
    start = time.perf_counter()
    con = duckdb.connect(database)
    con.execute("SET threads = 2")
    con.execute(
        f"CREATE TABLE h AS SELECT person, role, unit, f, coalesce(u, 'infinity'::DATE) AS u, "
        f"birth_year, leadership FROM read_csv('{path}', header = true, "
        "columns = {'person': 'VARCHAR', 'role': 'VARCHAR', 'unit': 'VARCHAR', 'f': 'DATE', "
        "'u': 'DATE', 'birth_year': 'INTEGER', 'leadership': 'BOOLEAN'}) ORDER BY f"
    )
    con.execute("CHECKPOINT")
    con.close()
    build = time.perf_counter() - start

start = time.perf_counter()
con = duckdb.connect(database, read_only=True)
con.execute("SET threads = 2")
rows_total = con.execute("SELECT count(*) FROM h").fetchall()[0][0]
load = time.perf_counter() - start

leaders_sql = (
    "SELECT unit, role, person FROM h WHERE f <= $d::DATE AND u > $d::DATE ORDER BY unit, role, person"
)
cohort_sql = (
    "SELECT unit, count(*) FILTER (WHERE birth_year >= $y) AS cohort, "
    "count(*) FILTER (WHERE birth_year < $y) AS older, "
    "count(*) FILTER (WHERE birth_year IS NULL) AS unknown "
    "FROM (SELECT DISTINCT unit, person, birth_year FROM h "
    "WHERE leadership AND f <= $d::DATE AND u > $d::DATE) GROUP BY unit ORDER BY unit"
)
history_sql = "SELECT role, unit, f, u FROM h WHERE person = ? ORDER BY f, role, unit"


def ask(sql, params):
    """Runs a query and keeps its answer; returns its number of rows and the answer."""
    if fetch == "arrow":
        table = con.sql(sql, params=params).to_arrow_table()
        return table.num_rows, table
    if fetch == "table":
        con.execute(f"CREATE OR REPLACE TEMP TABLE answer AS {sql}", params)
        return con.execute("SELECT count(*) FROM answer").fetchall()[0][0], None
    rows = con.execute(sql, params).fetchall()
    return len(rows), rows


times = []
cpu = []
leaders = cohorts = 0
cohort_total = 0
for _ in range(runs):
    t = time.perf_counter()
    c = time.process_time()
    leaders, _rows = ask(leaders_sql, {"d": date})
    cohorts, groups = ask(cohort_sql, {"d": date, "y": born_from})
    cpu.append(time.process_time() - c)
    times.append(time.perf_counter() - t)
    del _rows
cohort_total = con.execute(
    f"SELECT sum(cohort + older + unknown) FROM ({cohort_sql})", {"d": date, "y": born_from}
).fetchall()[0][0]
history = []
for person in persons:
    t = time.perf_counter()
    con.execute(history_sql, [person]).fetchall()
    history.append(time.perf_counter() - t)
print(json.dumps({
    "fetch": fetch,
    "rows": rows_total,
    "build": build,
    "load": load,
    "query": statistics.median(times),
    "query_cpu": statistics.median(cpu),
    "history": statistics.median(history),
    "leaders": leaders,
    "units": cohorts,
    "cohort_people": int(cohort_total or 0),
}))
