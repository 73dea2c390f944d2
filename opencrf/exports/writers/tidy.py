"""Tidy tables: one CSV per instrument in a zip, what analysts build by hand from REDCap's
block matrix.

Each table holds the rows where its instrument has data, keyed by the record id, the event
(longitudinal projects) and the instance (instruments that repeat, on their own or in a
repeating event), then the group column and the survey identifier when the export has them,
then the instrument's variables (a survey form's `<form>_timestamp` first). A row "has data"
when any of its values is filled in (an unticked checkbox is not) or its form status is not 0.
The tables are spooled to temporary files while the rows stream, then zipped, so memory stays
flat.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from opencrf.exports.table import ExportTable, Kind, Variable
from opencrf.exports.writers.text import BOM
from opencrf.records.export import (
    EVENT_COLUMN,
    GROUP_COLUMN,
    REPEAT_FORM_COLUMN,
    REPEAT_INSTANCE_COLUMN,
    SURVEY_IDENTIFIER_COLUMN,
)


@dataclass
class _Table:
    form: str
    repeats: bool
    columns: list[int]  # indices into the flat row: the form's variables
    empty: list[str]  # what each of those columns holds when nothing was entered
    file: IO[str]
    writer: Any = None
    rows: int = 0
    keys: list[int] = field(default_factory=list)


def write_tidy(table: ExportTable, out: BinaryIO) -> int:
    """Write the zip; returns the number of rows across all tables."""
    names = table.names
    at = {name: index for index, name in enumerate(names)}
    tables = _tables(table, at)
    try:
        for row in table.rows():
            for sheet in tables:
                if _belongs(sheet, row, at) and _has_data(sheet, row):
                    sheet.writer.writerow(
                        [*(row[i] for i in sheet.keys), *(row[i] for i in sheet.columns)]
                    )
                    sheet.rows += 1
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for sheet in tables:
                sheet.file.seek(0)
                with archive.open(f"{sheet.form}.csv", "w", force_zip64=True) as member:
                    text = io.TextIOWrapper(member, encoding="utf-8", newline="")
                    shutil.copyfileobj(sheet.file, text)
                    text.flush()
                    text.detach()
    finally:
        for sheet in tables:
            sheet.file.close()
    return sum(sheet.rows for sheet in tables)


def _tables(table: ExportTable, at: dict[str, int]) -> list[_Table]:
    design = table.design
    repeating_forms = {form for (_event, form) in design.repeats if form}
    repeating_events = {event_id for (event_id, form) in design.repeats if not form}
    tables = []
    for instrument in design.instruments:
        variables = [(i, v) for i, v in enumerate(table.variables) if v.form == instrument.name]
        if not variables:
            continue
        repeats = instrument.name in repeating_forms or any(
            design.has_form(table.project, event, instrument.name)
            for event in design.events
            if event.pk in repeating_events
        )
        keys = [0]
        header = [table.names[0]]
        if EVENT_COLUMN in at:
            keys.append(at[EVENT_COLUMN])
            header.append(EVENT_COLUMN)
        if repeats:
            keys.append(at[REPEAT_INSTANCE_COLUMN])
            header.append(REPEAT_INSTANCE_COLUMN)
        if GROUP_COLUMN in at:
            keys.append(at[GROUP_COLUMN])
            header.append(GROUP_COLUMN)
        if SURVEY_IDENTIFIER_COLUMN in at:
            keys.append(at[SURVEY_IDENTIFIER_COLUMN])
            header.append(SURVEY_IDENTIFIER_COLUMN)
        spool = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115 (closed by write_tidy)
        spool.write(BOM)
        sheet = _Table(
            form=instrument.name,
            repeats=repeats,
            columns=[i for i, _v in variables],
            empty=[_empty(v) for _i, v in variables],
            file=spool,
            keys=keys,
        )
        sheet.writer = csv.writer(spool, lineterminator="\n")
        sheet.writer.writerow([*header, *(v.name for _i, v in variables)])
        tables.append(sheet)
    return tables


def _empty(variable: Variable) -> str:
    """What a column holds when nothing was entered: 0 for a checkbox option and for the
    form status (an untouched form's), blank for everything else."""
    checkbox = variable.field_name and variable.name.startswith(f"{variable.field_name}___")
    status = variable.kind == Kind.CHOICE and not variable.field_name
    return "0" if checkbox or status else ""


def _belongs(sheet: _Table, row: list[str], at: dict[str, int]) -> bool:
    """Whether the flat row is one of this form's rows: its own repeat row, a repeating
    event's row, or (a form that does not repeat here) the base row."""
    if REPEAT_FORM_COLUMN not in at:
        return True
    repeat_form = row[at[REPEAT_FORM_COLUMN]]
    return repeat_form == sheet.form or repeat_form == ""


def _has_data(sheet: _Table, row: list[str]) -> bool:
    return any(
        row[index] not in ("", empty)
        for index, empty in zip(sheet.columns, sheet.empty, strict=True)
    )
