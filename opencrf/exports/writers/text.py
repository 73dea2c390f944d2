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
from typing import BinaryIO

from opencrf.exports.table import ExportTable

BOM = "\ufeff"


def write_csv(table: ExportTable, out: BinaryIO, *, label_header: bool = False) -> int:
    """Write the table as CSV; returns the number of data rows."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        text.write(BOM)
        writer = csv.writer(text, lineterminator="\n")
        header = table.layout.label_header(table.design) if label_header else table.names
        writer.writerow(header)
        count = 0
        for row in table.rows():
            writer.writerow(row)
            count += 1
        text.flush()
    finally:
        text.detach()  # the caller owns `out`
    return count
