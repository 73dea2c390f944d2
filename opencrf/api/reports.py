"""`content=report` (PyCap's `export_report`): a saved report's rows, as REDCap returns them.

The rows are the report's as the token's user would see them on the report page: the same
selectors decide which report (one the user may view, else "not valid" as for a missing id),
which records (their data access group) and which columns (their export rights). REDCap's
options apply: `rawOrLabel`, `rawOrLabelHeaders`, `exportCheckboxLabel`, `csvDelimiter` and
`decimalCharacter`; `type` is flat only, as in REDCap. Rows come in record, then event order;
columns in the report's field order, as REDCap's do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from operator import itemgetter

from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.api.formats import DELIMITERS, cells_response
from opencrf.api.records import _decimal_comma
from opencrf.core.errors import NotFound
from opencrf.exports.selectors import access_report, report_request
from opencrf.exports.table import ExportTable, Variable, export_table
from opencrf.records.export import (
    EVENT_COLUMN,
    GROUP_COLUMN,
    REPEAT_FORM_COLUMN,
    REPEAT_INSTANCE_COLUMN,
)

NOT_VALID = 'The value of the parameter "report_id" is not valid'
KEY_COLUMNS = frozenset({EVENT_COLUMN, GROUP_COLUMN, REPEAT_FORM_COLUMN, REPEAT_INSTANCE_COLUMN})


def report(call: Call) -> HttpResponseBase:
    call.require_export()
    project = call.project
    assert project is not None
    params = call.params
    if call.format not in ("json", "csv", "xml"):
        raise ApiError('The value of the parameter "format" is not valid')
    try:
        saved = access_report(call.user, project, params.text("report_id"))
    except NotFound:
        raise ApiError(NOT_VALID) from None
    params.choice("type", ("flat",), "flat")
    delimiter = DELIMITERS.get(params.text("csvDelimiter") or ",")
    if delimiter is None:
        raise ApiError('The value of the parameter "csvDelimiter" is not valid')
    request = replace(
        report_request(project, saved),
        labels=params.choice("rawOrLabel", ("raw", "label"), "raw") == "label",
        checkbox_labels=params.flag("exportCheckboxLabel"),
        decimal_comma=_decimal_comma(params.text("decimalCharacter")),
    )
    table = export_table(call.user, project, request)
    label_headers = params.choice("rawOrLabelHeaders", ("raw", "label"), "raw") == "label"
    order = _report_order(table, saved.fields)
    shown = table.layout.label_header(table.design) if label_headers else None
    return cells_response(
        call.format,
        [table.names[i] for i in order],
        _reordered(table.rows(), order),
        root="records",
        delimiter=delimiter,
        shown_header=[shown[i] for i in order] if shown is not None else None,
        empty_body=True,
    )


def _report_order(table: ExportTable, fields: Sequence[str]) -> list[int]:
    """Column positions in the report's field order, as REDCap answers a report: the record
    id, event, repeat and group columns first, then each field's columns (all options of a
    checkbox together) in the order the report lists them, not the dictionary's."""
    position = {name: index for index, name in enumerate(fields)}
    record_field = table.design.record_id_field

    def rank(variable: Variable) -> int:
        if variable.name == record_field or variable.name in KEY_COLUMNS:
            return -1
        return position.get(variable.field_name or variable.name, len(position))

    ranks = [rank(variable) for variable in table.variables]
    return sorted(range(len(ranks)), key=ranks.__getitem__)


def _reordered(rows: Iterable[list[str]], order: list[int]) -> Iterable[Sequence[str]]:
    if order == sorted(order):
        return rows  # the dictionary's order already: no copy per row
    return map(itemgetter(*order), rows)  # more than one column here, so each gives a tuple
