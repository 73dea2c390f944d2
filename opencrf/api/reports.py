"""`content=report` (PyCap's `export_report`): a saved report's rows, as REDCap returns them.

The rows are the report's as the token's user would see them on the report page: the same
selectors decide which report (one the user may view, else "not valid" as for a missing id),
which records (their data access group) and which columns (their export rights). REDCap's
options apply: `rawOrLabel`, `rawOrLabelHeaders`, `exportCheckboxLabel`, `csvDelimiter` and
`decimalCharacter`; `type` is flat only, as in REDCap. Rows come in record, then event order;
columns in the report's field order, as REDCap's do (`ExportRequest.report_order`, which
`report_request` sets: the report's page and its exports have the same order).
"""

from __future__ import annotations

from dataclasses import replace

from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.api.formats import DELIMITERS, cells_response
from opencrf.api.records import _decimal_comma
from opencrf.core.errors import NotFound
from opencrf.exports.selectors import access_report, report_request
from opencrf.exports.table import export_table

NOT_VALID = 'The value of the parameter "report_id" is not valid'


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
    table = export_table(call.user, project, request)  # in the report's field order
    label_headers = params.choice("rawOrLabelHeaders", ("raw", "label"), "raw") == "label"
    return cells_response(
        call.format,
        table.names,
        table.rows(),
        root="records",
        delimiter=delimiter,
        shown_header=table.layout.label_header(table.design) if label_headers else None,
        empty_body=True,
    )
