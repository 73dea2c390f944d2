"""CSV, raw codes or labels, in REDCap's flat column layout.

Cells are written as stored, formula-looking text included (`=1+1` stays `=1+1`), as REDCap
does: a CSV file is data, and a value changed on the way out would no longer match the
database or a re-import. Spreadsheets that evaluate such cells get the Excel export, which
writes every text cell as text. Files start with a UTF-8 byte order mark, so Excel opens
Japanese text correctly; R, pandas and Stata read it either way.
"""

from __future__ import annotations

import csv
import io
from itertools import islice
from typing import BinaryIO

from opencrf.exports.table import ExportTable

BOM = "\ufeff"


ROWS_PER_WRITE = 1000


def write_csv(table: ExportTable, out: BinaryIO, *, label_header: bool = False) -> int:
    """Write the table as CSV; returns the number of data rows. Rows are formatted into a
    text buffer a thousand at a time and written as one encoded block: one encode and one
    write per block rather than per row. On PostgreSQL a raw export's lines are written by
    the database when it can (`ExportTable.copied_csv`), the same bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    buffer.write(BOM)
    writer.writerow(table.layout.label_header(table.design) if label_header else table.names)
    copied = table.copied_csv()
    if copied is not None:  # the database writes the same lines (records/export_copy.py)
        out.write(buffer.getvalue().encode("utf-8"))
        for block in copied:
            out.write(block)
        return copied.rows
    count = 0
    rows = table.rows()
    while chunk := list(islice(rows, ROWS_PER_WRITE)):
        writer.writerows(chunk)
        count += len(chunk)
        out.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
    out.write(buffer.getvalue().encode("utf-8"))  # the header of an empty export
    return count
