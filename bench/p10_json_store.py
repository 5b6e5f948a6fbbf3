"""P10's "before": a copy of an SQLite store with every binary series row written back as the
JSON text arrays stores held before migration 0007 (period starts and shortest round-trip
figures, as serde_json wrote them). The same holdco binary reads both kinds, so timing a
roll-up on the copy against the original isolates what the binary arrays save.

    python3 bench/p10_json_store.py STORE.db COPY.db
"""
import json
import shutil
import sqlite3
import struct
import sys

source, copy = sys.argv[1], sys.argv[2]
shutil.copyfile(source, copy)
con = sqlite3.connect(copy)
# The table is WITHOUT ROWID: rows are updated by their primary key.
keys = "unit, granularity, metric, counterparty, basis, structure, import_id"
converted = 0
for row in con.execute(
    f"SELECT {keys}, periods, figures FROM facts WHERE typeof(periods) = 'blob'"
).fetchall():
    key, periods, figures = row[:7], row[7], row[8]
    starts = list(struct.unpack(f"<{len(periods) // 4}i", periods))
    values = list(struct.unpack(f"<{len(figures) // 8}d", figures))
    con.execute(
        "UPDATE facts SET periods = ?, figures = ? WHERE unit = ? AND granularity = ? AND metric = ?"
        " AND counterparty = ? AND basis = ? AND structure = ? AND import_id = ?",
        (json.dumps(starts, separators=(",", ":")), json.dumps(values, separators=(",", ":")), *key),
    )
    converted += 1
con.commit()
con.execute("VACUUM")
con.close()
print(f"{converted} series rows written as JSON text")
