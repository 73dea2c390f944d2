"""Design imports (spec §2.7): the data dictionary. Needs the design right and the API import
right, and a project in development, as in REDCap."""

from __future__ import annotations

from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError, forbidden
from opencrf.api.formats import count_response
from opencrf.api.parsing import parse_rows
from opencrf.dictionary.columns import API_COLUMNS, UI_HEADERS, FieldRow
from opencrf.dictionary.models import RevisionSource
from opencrf.dictionary.services import DictionaryInvalid, dictionary_apply

_UI_TO_API = dict(zip(UI_HEADERS, API_COLUMNS, strict=True))


def _require_design(call: Call) -> None:
    call.require_import()
    if not call.rights.design:
        raise forbidden("You do not have permissions to use the API")


def metadata_import(call: Call) -> HttpResponseBase:
    """Replace the whole dictionary; answers the number of fields."""
    _require_design(call)
    assert call.project is not None
    rows = [_field_row(row) for row in parse_rows(call.params.raw("data"), call.format)]
    if not rows:
        raise ApiError("The data dictionary is empty.")
    try:
        dictionary_apply(
            context=call.context, project=call.project, rows=rows, source=RevisionSource.API
        )
    except DictionaryInvalid as error:
        lines = [
            f"row {p.row}, {p.column or '-'}: {p.message}" if p.row else p.message
            for p in error.problems
        ]
        raise ApiError("\n".join(lines)) from None
    return count_response(len(rows), call.return_format)


def _field_row(values: dict[str, str]) -> FieldRow:
    """One dictionary row by API names (or the web UI's headers); numbers as REDCap writes them."""
    named = {_UI_TO_API.get(key, key): value for key, value in values.items()}
    for bound in ("text_validation_min", "text_validation_max"):
        text = named.get(bound, "")
        if text.endswith(".0") and text[:-2].lstrip("-").isdigit():
            named[bound] = text[:-2]  # pandas writes 130 as 130.0
    return FieldRow.from_dict(named)
