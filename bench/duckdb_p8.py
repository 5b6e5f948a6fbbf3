"""P8 baseline: the same as-of questions asked of DuckDB over the role intervals holdco
replayed (one row per person, role, unit and span; `until` empty while held).

argv: holdings.csv date runs persons.txt born_from
Prints one JSON line: load seconds, median seconds of the leaders-on-a-date query plus the
cohort-per-unit query (wall, and CPU of the process over all its threads), median seconds of one person's history, and the answers' sizes.
"""
import json
import statistics
import sys
import time

import duckdb

path, date, runs, persons_path, born_from = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
persons = [line.strip() for line in open(persons_path) if line.strip()]
con = duckdb.connect(":memory:")
con.execute("SET threads = 2")
start = time.perf_counter()
con.execute(
    f"CREATE TABLE h AS SELECT * FROM read_csv('{path}', header = true, "
    "columns = {'person': 'VARCHAR', 'role': 'VARCHAR', 'unit': 'VARCHAR', 'f': 'DATE', 'u': 'DATE', 'birth_year': 'INTEGER', 'leadership': 'BOOLEAN'})"
)
load = time.perf_counter() - start
leaders_sql = (
    "SELECT unit, role, person FROM h WHERE f <= ?::DATE AND (u IS NULL OR u > ?::DATE) ORDER BY unit, role, person"
)
cohort_sql = (
    "SELECT unit, count(DISTINCT person) FILTER (WHERE birth_year >= ?) AS cohort, "
    "count(DISTINCT person) FILTER (WHERE birth_year < ?) AS older, "
    "count(DISTINCT person) FILTER (WHERE birth_year IS NULL) AS unknown "
    "FROM h WHERE leadership AND f <= ?::DATE AND (u IS NULL OR u > ?::DATE) GROUP BY unit ORDER BY unit"
)
history_sql = "SELECT role, unit, f, u FROM h WHERE person = ? ORDER BY f, role, unit"
times = []
cpu = []
leaders = cohorts = 0
cohort_total = 0
for _ in range(runs):
    t = time.perf_counter()
    c = time.process_time()
    rows = con.execute(leaders_sql, [date, date]).fetchall()
    groups = con.execute(cohort_sql, [born_from, born_from, date, date]).fetchall()
    cpu.append(time.process_time() - c)
    times.append(time.perf_counter() - t)
    leaders, cohorts = len(rows), len(groups)
    cohort_total = sum(g[1] + g[2] + g[3] for g in groups)
history = []
for person in persons:
    t = time.perf_counter()
    con.execute(history_sql, [person]).fetchall()
    history.append(time.perf_counter() - t)
print(json.dumps({
    "load": load,
    "query": statistics.median(times),
    "query_cpu": statistics.median(cpu),
    "history": statistics.median(history),
    "leaders": leaders,
    "units": cohorts,
    "cohort_people": cohort_total,
}))
