"""P7 baseline: openpyxl writing the same facts as a workbook, and reading holdco's workbook.

Run by `cargo run --release -p holdco-bench --bin p7`, interleaved with holdco.
Prints `seconds peak_bytes facts 0`, as the holdco runs do.

    python3 bench/openpyxl_p7.py write FACTS.csv OUT.xlsx
    python3 bench/openpyxl_p7.py read BOOK.xlsx
"""
import csv
import resource
import sys
import time

import openpyxl


def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def write(source, target):
    with open(source, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, rows = rows[0], rows[1:]
    value = header.index("value")
    started = time.perf_counter()
    # Write-only mode streams rows: openpyxl's fastest way to write a large sheet.
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Facts")
    sheet.append(header)
    for row in rows:
        cells = [cell if cell != "" else None for cell in row]
        cells[value] = float(row[value])
        sheet.append(cells)
    book.save(target)
    print(time.perf_counter() - started, peak(), len(rows), 0)


def read(path):
    started = time.perf_counter()
    # Read-only mode streams rows: openpyxl's fastest way to read a large sheet.
    book = openpyxl.load_workbook(path, read_only=True)
    facts = 0
    for name in book.sheetnames:
        if not name.startswith("Facts"):
            continue
        for row in book[name].iter_rows(min_row=2, values_only=True):
            if any(cell is not None for cell in row):
                facts += 1
    print(time.perf_counter() - started, peak(), facts, 0)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    else:
        read(sys.argv[2])
