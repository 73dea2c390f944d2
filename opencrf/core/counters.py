"""Counters shared by every process: the store behind sliding-window rate limits.

Each counter is one row, made or incremented by one SQL statement (`INSERT … ON CONFLICT
DO UPDATE SET count = count + 1`), so concurrent requests in any process or node never lose
a count. Expired rows are deleted whenever a new counter is made, which happens at most once
per key and window.

Every public survey request counts here, so the statements are written out (parameterised)
rather than built by the ORM each time: building them cost more CPU than running them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction

from opencrf.core.models import RateCounter

_TABLE = RateCounter._meta.db_table


def _sql(statement: str) -> str:
    """`statement` with its table and column names quoted for the database in use."""
    names = {"table": _TABLE, "key": "key", "count": "count", "expires": "expires_at"}
    return statement.format(**{k: connection.ops.quote_name(v) for k, v in names.items()})


def _moment(at: datetime) -> Any:
    """`at` as the database takes it (SQLite: naive UTC text, as the ORM stores it)."""
    return connection.ops.adapt_datetimefield_value(at)


def counts(keys: Iterable[str]) -> dict[str, int]:
    """The current count of each key that has one (expired or missing keys are left out)."""
    wanted = list(keys)
    if not wanted:
        return {}
    marks = ", ".join(["%s"] * len(wanted))
    statement = _sql(  # quoted names and placeholders only
        f"SELECT {{key}}, {{count}} FROM {{table}} WHERE {{expires}} > %s AND {{key}} IN ({marks})"  # noqa: S608
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [_moment(datetime.now(UTC)), *wanted])
        return {key: int(count) for key, count in cursor.fetchall()}


def count_add(key: str, *, keep_seconds: int) -> None:
    """Add one to `key`, making it (kept `keep_seconds`) when it does not exist yet."""
    now = datetime.now(UTC)
    add = _sql(
        "INSERT INTO {table} ({key}, {count}, {expires}) VALUES (%s, 1, %s) ON CONFLICT ({key}) "
        "DO UPDATE SET {count} = {table}.{count} + 1 RETURNING {count}"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(add, [key, _moment(now + timedelta(seconds=keep_seconds))])
        (count,) = cursor.fetchone()
        if count == 1:  # a new counter: the time to clear the expired ones
            cursor.execute(_sql("DELETE FROM {table} WHERE {expires} <= %s"), [_moment(now)])
