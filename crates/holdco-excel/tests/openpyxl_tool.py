"""Independent reader for the workbook tests: openpyxl (not holdco) opens a file and
describes it as JSON, or edits cells the way a user's spreadsheet program would.

    python3 openpyxl_tool.py describe FILE
    python3 openpyxl_tool.py edit FILE OUT SHEET!CELL=VALUE...   (VALUE: number, text, or =formula)
"""
import datetime
import json
import sys

import openpyxl


def describe(path):
    book = openpyxl.load_workbook(path)  # raises on anything that is not a valid workbook
    out = {"sheets": []}
    for sheet in book.worksheets:
        cells = []
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is None and cell.comment is None and cell.protection.locked:
                    continue
                value = cell.value
                kind = type(value).__name__
                if isinstance(value, (datetime.datetime, datetime.date)):
                    value = value.strftime("%Y-%m-%d")
                    kind = "date"
                cells.append({
                    "ref": cell.coordinate,
                    "value": value,
                    "type": kind,
                    "format": cell.number_format,
                    "note": cell.comment.text if cell.comment else None,
                    "link": cell.hyperlink.target if cell.hyperlink else None,
                    "locked": cell.protection.locked,
                })
        out["sheets"].append({
            "name": sheet.title,
            "state": sheet.sheet_state,
            "freeze": sheet.freeze_panes,
            "filter": sheet.auto_filter.ref,
            "protected": bool(sheet.protection.sheet),
            "charts": [type(c).__name__ for c in sheet._charts],
            "validations": [str(v.sqref) for v in sheet.data_validations.dataValidation],
            "cells": cells,
        })
    print(json.dumps(out))


def edit(path, out, edits):
    book = openpyxl.load_workbook(path)
    for item in edits:
        where, value = item.split("=", 1)
        sheet, ref = where.split("!")
        if value.startswith("="):
            parsed = value
        else:
            try:
                parsed = float(value)
            except ValueError:
                parsed = value
        book[sheet][ref] = parsed
    book.save(out)


if __name__ == "__main__":
    if sys.argv[1] == "describe":
        describe(sys.argv[2])
    elif sys.argv[1] == "edit":
        edit(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit("usage: openpyxl_tool.py describe FILE | edit FILE OUT SHEET!CELL=VALUE...")
