"""Plain multi-row INSERTs for the hot paths of imports (form rows and audit entries).

`QuerySet.bulk_create` compiles every value through the ORM's per-field pipeline, which costs
more than the database's own work for an import of thousands of rows. `insert_values` prepares
each column's conversion once and hands the rows to the driver's `executemany`, with the same
parameter binding (never string formatting); `insert_rows` feeds it from model instances, and
callers that need no instance at all (audit entries) give it plain rows. Neither returns
primary keys: callers use them only for rows they do not touch again in the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any, cast

import orjson
from django.db import connection, models


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _column(field: models.Field[Any, Any]) -> tuple[str, Callable[[Any], Any]]:
    """(placeholder, conversion) of one column, for the current connection."""
    if isinstance(field, models.JSONField):
        placeholder = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
        return placeholder, _json
    if isinstance(field, models.DateTimeField):
        return "%s", connection.ops.adapt_datetimefield_value
    return "%s", lambda value: value


def insert_rows(
    model: type[models.Model],
    objects: Sequence[models.Model],
    fields: Sequence[str],
    batch: int = 1000,
) -> int:
    """INSERT the `fields` of `objects` (attribute names, e.g. `record_id` for a foreign key's
    column); returns the number of rows written."""
    attributes = [model._meta.get_field(name).attname for name in fields]  # type: ignore[union-attr]
    rows = ([getattr(obj, attribute) for attribute in attributes] for obj in objects)
    return insert_values(model, fields, rows, batch)


def insert_values(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    batch: int = 1000,
) -> int:
    """INSERT rows given as plain values, one per field of `fields` in that order, without
    building model instances; returns the number of rows written."""
    meta = model._meta
    columns = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in fields]
    prepared = [_column(field) for field in columns]
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(field.column)) for field in columns)
    placeholders = ", ".join(placeholder for placeholder, _convert in prepared)
    # Only the model's own table and column names are written into the statement (quoted);
    # every value is a bound parameter.
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({placeholders})"  # noqa: S608
    converters = [convert for _placeholder, convert in prepared]
    written = 0
    rows = iter(rows)
    with connection.cursor() as cursor:
        while chunk := list(islice(rows, batch)):
            cursor.executemany(
                sql,
                [
                    [convert(value) for convert, value in zip(converters, row, strict=True)]
                    for row in chunk
                ],
            )
            written += len(chunk)
    return written
