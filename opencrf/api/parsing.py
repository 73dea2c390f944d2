"""Data sent to the API (`data`): JSON, CSV or XML into rows of strings (spec §1.5, §2.2).

Every parser refuses malformed input with a message naming what is wrong. XML goes through
defusedxml, which refuses entity expansion and external entities.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from opencrf.api.errors import ApiError

Row = dict[str, Any]  # strings, and for `nested` contents (user rights) {form: code} maps


def parse_rows(text: str, fmt: str, delimiter: str = ",", *, nested: bool = False) -> list[Row]:
    """The rows of `data`. With `nested`, a JSON object or nested XML elements become a dict
    of strings (user and role rights per form); otherwise every value is a string."""
    if fmt == "json":
        rows = _json_rows(text, nested)
    elif fmt == "csv":
        rows = _csv_rows(text, delimiter)
    else:
        rows = _xml_rows(text, nested)
    _refuse_nul(rows)
    return rows


def _text(value: Any, nested: bool = False) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if nested and isinstance(value, dict):
        return {str(key): _text(inner) for key, inner in value.items()}
    if isinstance(value, (dict, list)):
        raise ApiError("The data contains a nested value where a single value was expected.")
    return str(value)


def _json_rows(text: str, nested: bool = False) -> list[Row]:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ApiError(f"The data is not valid JSON: {error}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ApiError("The data must be a JSON list of objects.")
    return [{str(key): _text(value, nested) for key, value in item.items()} for item in data]


def _refuse_nul(rows: list[Row]) -> None:
    """No name or value may hold a NUL (PostgreSQL's text cannot). JSON writes one as
    `\\u0000`, which passes the request's own check of its text."""
    for number, row in enumerate(rows, start=1):
        for name, value in row.items():
            texts = [name, *(value.values() if isinstance(value, dict) else [value])]
            if any("\x00" in text for text in texts):
                shown = name.replace("\x00", "\\0")
                raise ApiError(
                    f'Item {number} of the data contains a NUL character in "{shown}", '
                    "which is not accepted."
                )


def _csv_rows(text: str, delimiter: str) -> list[Row]:
    reader = csv.reader(
        io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter, strict=True
    )
    try:
        lines = [line for line in reader if any(cell.strip() for cell in line)]
    except csv.Error as error:
        raise ApiError(f"The data is not valid CSV: {error}") from None
    if not lines:
        return []
    header = [name.strip() for name in lines[0]]
    if "" in header:
        # pandas writes its index as an unnamed first column
        keep = [n for n, name in enumerate(header) if name]
    else:
        keep = list(range(len(header)))
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if len(line) > len(header):
            raise ApiError(f"Line {number} of the CSV data has more values than the header.")
        line = line + [""] * (len(header) - len(line))
        rows.append({header[n]: line[n] for n in keep})
    return rows


def _xml_rows(text: str, nested: bool = False) -> list[Row]:
    try:
        root = ElementTree.fromstring(text.encode("utf-8"), forbid_dtd=True)
    except DefusedXmlException:
        raise ApiError("The XML data declares entities or a DTD, which are not accepted.") from None
    except ElementTree.ParseError as error:
        raise ApiError(f"The data is not valid XML: {error}") from None
    return [{child.tag: _xml_value(child, nested) for child in item} for item in root.iter("item")]


def _xml_value(element: Any, nested: bool) -> Any:
    if nested and len(element):
        return {inner.tag: (inner.text or "") for inner in element}
    if len(element):
        raise ApiError("The data contains a nested value where a single value was expected.")
    return element.text or ""
