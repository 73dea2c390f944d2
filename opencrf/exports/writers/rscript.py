"""R: the data as CSV (raw codes) and an R script that reads it with types, factors and
labels — a zip of `data.csv` and `read_data.R`.

The script uses base R only: `read.csv` with every column as text (so codes such as `01`
survive), then numbers with `as.numeric`, dates with `as.Date`, datetimes with `as.POSIXct`
(UTC, as stored; a survey timestamp's `[not completed]` becomes NA), each choice field as
a factor whose levels are the codes and whose labels are the options' labels, and each
variable's label in its `label` attribute (what Hmisc, labelled and RStudio's viewer show).
Strings in the script are R string literals with every quote, backslash and line break
escaped, so no label can end a literal early.
"""

from __future__ import annotations

import zipfile
from typing import BinaryIO

from opencrf.exports.table import ExportTable, Kind, Variable
from opencrf.exports.writers.text import write_csv


def write_r(table: ExportTable, out: BinaryIO) -> int:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("data.csv", "w", force_zip64=True) as data:
            count = write_csv(table, data)  # type: ignore[arg-type]
        archive.writestr("read_data.R", r_script(table.variables))
    return count


def r_script(variables: list[Variable]) -> str:
    lines = [
        "# Reads data.csv, exported by OpenCRF, with its types, factors and labels.",
        "# Run it from the folder holding data.csv:",
        '#   data <- source("read_data.R", encoding = "UTF-8")$value',
        "data <- read.csv(",
        '  "data.csv", fileEncoding = "UTF-8-BOM", colClasses = "character",',
        '  na.strings = "", check.names = FALSE',
        ")",
    ]
    for variable in variables:
        lines += _conversion(variable)
        lines.append(
            f'attr(data[[{r_string(variable.name)}]], "label") <- {r_string(variable.label)}'
        )
    lines.append("data")
    return "\n".join(lines) + "\n"


def _conversion(variable: Variable) -> list[str]:
    column = f"data[[{r_string(variable.name)}]]"
    if variable.kind in (Kind.INTEGER, Kind.NUMBER):
        return [f"{column} <- as.numeric({column})"]
    if variable.kind == Kind.DATE:
        return [f"{column} <- as.Date({column})"]
    if variable.kind == Kind.DATETIME:
        formats = 'c("%Y-%m-%d %H:%M:%OS", "%Y-%m-%d %H:%M")'
        missing = [
            f"{column}[{column} %in% c({', '.join(map(r_string, sorted(variable.missing)))})] <- NA"
        ]
        return [
            *(missing if variable.missing else []),
            f'{column} <- as.POSIXct({column}, tz = "UTC", tryFormats = {formats})',
        ]
    if variable.kind == Kind.CHOICE:
        levels = ", ".join(r_string(choice.code) for choice in variable.choices)
        labels = ", ".join(r_string(choice.label) for choice in variable.choices)
        return [f"{column} <- factor({column}, levels = c({levels}), labels = c({labels}))"]
    return []


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def r_string(text: str) -> str:
    """An R string literal holding exactly `text` (UTF-8; control characters escaped)."""
    out = []
    for character in text:
        if character in _ESCAPES:
            out.append(_ESCAPES[character])
        elif ord(character) < 32 or ord(character) == 127:
            out.append(f"\\x{ord(character):02x}")
        else:
            out.append(character)
    return '"' + "".join(out) + '"'
