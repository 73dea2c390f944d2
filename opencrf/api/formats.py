"""Response bodies in REDCap's formats (spec §1.5): JSON, CSV as PHP writes it, and XML items."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any

import orjson
from django.http import HttpResponse, StreamingHttpResponse

CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
    "odm": "text/xml; charset=utf-8",
    "text": "text/plain; charset=utf-8",
}
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" ?>'
DELIMITERS = {",": ",", "tab": "\t", ";": ";", "|": "|", "^": "^", "pipe": "|"}
_NEEDS_QUOTES = '"\r\n\t \\'


@cache
def _needs_quotes(delimiter: str) -> Callable[[str], re.Match[str] | None]:
    return re.compile("[" + re.escape(_NEEDS_QUOTES + delimiter) + "]").search


def csv_cell(value: Any, delimiter: str = ",") -> str:
    """One CSV field as PHP's fputcsv writes it: quoted only when it holds a delimiter,
    a quote, a line break, a tab, a space or a backslash; quotes doubled."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if _needs_quotes(delimiter)(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(values: Iterable[Any], delimiter: str = ",") -> str:
    needs = _needs_quotes(delimiter)
    cells = [
        value if isinstance(value, str) and not needs(value) else csv_cell(value, delimiter)
        for value in values
    ]
    return delimiter.join(cells) + "\n"


def csv_lines(
    header: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    delimiter: str = ",",
    shown_header: Sequence[str] | None = None,
    *,
    empty_body: bool = False,
) -> Iterator[str]:
    """CSV lines; `shown_header` replaces the first line (label headers may repeat).

    With `empty_body`, no rows make an empty body rather than a lone header, as REDCap's
    record export answers.
    """
    first = csv_line(header if shown_header is None else shown_header, delimiter)
    if not empty_body:
        yield first
    for row in rows:
        if empty_body:
            yield first
            empty_body = False
        yield csv_line([row.get(name, "") for name in header], delimiter)


def csv_cell_lines(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    delimiter: str = ",",
    shown_header: Sequence[str] | None = None,
    *,
    empty_body: bool = False,
) -> Iterator[str]:
    """CSV lines of rows given as cells in header order, joined into chunks of about 64 kB
    (one write per chunk, not per row); `empty_body` as in `csv_lines`."""
    pending = [csv_line(header if shown_header is None else shown_header, delimiter)]
    size, any_row = 0, False
    for row in rows:
        line = csv_line(row, delimiter)
        pending.append(line)
        size += len(line)
        any_row = True
        if size > 65536:
            yield "".join(pending)
            pending, size = [], 0
    if any_row or not empty_body:
        yield "".join(pending)


def _cdata(value: Any) -> str:
    text = "" if value is None else str(value)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_value(value: Any) -> str:
    if isinstance(value, Mapping):  # nested rights: <forms><form_1>1</form_1></forms>
        return "".join(f"<{key}>{_cdata(inner)}</{key}>" for key, inner in value.items())
    return _cdata(value)


def xml_item(row: Mapping[str, Any], keys: Sequence[str] | None = None) -> str:
    names = keys if keys is not None else list(row)
    cells = "".join(f"<{name}>{_xml_value(row.get(name, ''))}</{name}>" for name in names)
    return f"<item>{cells}</item>\n"


def xml_lines(
    root: str, rows: Iterable[Mapping[str, Any]], keys: Sequence[str] | None = None
) -> Iterator[str]:
    yield f"{XML_DECLARATION}\n<{root}>\n"
    for row in rows:
        yield xml_item(row, keys)
    yield f"</{root}>\n"


def json_lines(rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """A JSON array written one object at a time, so long exports never sit in memory."""
    first = True
    yield b"["
    for row in rows:
        yield (b"" if first else b",") + orjson.dumps(row)
        first = False
    yield b"]"


def cells_response(
    fmt: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    root: str = "items",
    delimiter: str = ",",
    shown_header: Sequence[str] | None = None,
    empty_body: bool = False,
) -> StreamingHttpResponse:
    """Like `table_response`, for rows given as cells in `header` order (the fast path of
    large exports: CSV never builds a dict per row)."""
    if fmt == "csv":
        body = csv_cell_lines(header, rows, delimiter, shown_header, empty_body=empty_body)
        return StreamingHttpResponse(body, content_type=CONTENT_TYPES["csv"])
    as_dicts = (dict(zip(header, row, strict=True)) for row in rows)
    return table_response(fmt, header, as_dicts, root=root, delimiter=delimiter)


def table_response(
    fmt: str,
    header: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    root: str = "items",
    delimiter: str = ",",
    shown_header: Sequence[str] | None = None,
    empty_body: bool = False,
) -> StreamingHttpResponse:
    """Rows of one content in the asked format, streamed; `shown_header` is CSV's first line
    (`empty_body`: none when there are no rows)."""
    body: Iterable[Any]
    if fmt == "json":
        body = json_lines(rows)
    elif fmt == "csv":
        body = csv_lines(header, rows, delimiter, shown_header, empty_body=empty_body)
    else:
        body = xml_lines(root, rows, header)
    return StreamingHttpResponse(body, content_type=CONTENT_TYPES["xml" if fmt == "odm" else fmt])


def object_response(fmt: str, row: Mapping[str, Any], *, root: str = "items") -> HttpResponse:
    """A single object (project info): a JSON object, one CSV row, or one XML item."""
    if fmt == "json":
        return HttpResponse(orjson.dumps(dict(row)), content_type=CONTENT_TYPES["json"])
    if fmt == "csv":
        text = "".join(csv_lines(list(row), [row]))
        return HttpResponse(text, content_type=CONTENT_TYPES["csv"])
    text = f"{XML_DECLARATION}\n<{root}>" + xml_item(row).removesuffix("\n") + f"</{root}>\n"
    return HttpResponse(text, content_type=CONTENT_TYPES["xml"])


def plain_response(text: str) -> HttpResponse:
    """A bare value (version, next record name, a count): no envelope, no newline."""
    return HttpResponse(text, content_type=CONTENT_TYPES["text"])


def count_response(count: int, return_format: str) -> HttpResponse:
    """The result of most imports and deletes: a bare number (a JSON number in JSON)."""
    if return_format == "json":
        return HttpResponse(orjson.dumps(count), content_type=CONTENT_TYPES["json"])
    return plain_response(str(count))


def error_response(message: str, return_format: str, status: int) -> HttpResponse:
    """REDCap's error body in the caller's return format (§1.6)."""
    if return_format == "json":
        body = orjson.dumps({"error": message})
        return HttpResponse(body, status=status, content_type=CONTENT_TYPES["json"])
    if return_format == "csv":
        return HttpResponse(f"ERROR: {message}", status=status, content_type=CONTENT_TYPES["csv"])
    escaped = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = f"{XML_DECLARATION}\n<hash>\n  <error>{escaped}</error>\n</hash>"
    return HttpResponse(text, status=status, content_type=CONTENT_TYPES["xml"])
