"""Requests and server errors per minute, summed over every web process and node.

The `error_rate_spike` alert needs the share of 5xx answers across the whole service, yet each
gunicorn process sees only its own requests. So each process counts in memory (a dictionary
under a lock: the whole cost per request) and a flusher thread adds its counts to the table
`ops_request_minute` every few seconds, one upsert per minute slot. The table is plain SQL
(migration 0002_metrics), not a model: nothing but this module reads or writes it, and rows
older than a day are pruned by the alert evaluation.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 10.0
KEEP_MINUTES = 24 * 60

_lock = threading.Lock()
_pending: dict[int, list[int]] = {}  # epoch minute -> [requests, server errors]
_flusher_started = threading.Event()


def minute_of(moment: datetime | float) -> int:
    seconds = moment.timestamp() if isinstance(moment, datetime) else moment
    return int(seconds // 60)


def count(status: int, *, now: float | None = None) -> None:
    """Count one answered request in this process (flushed later)."""
    minute = minute_of(time.time() if now is None else now)
    with _lock:
        tally = _pending.get(minute)
        if tally is None:
            if len(_pending) >= KEEP_MINUTES:  # never flushed (no flusher thread): forget old
                del _pending[min(_pending)]
            tally = _pending[minute] = [0, 0]
        tally[0] += 1
        tally[1] += status >= 500


def flush() -> int:
    """Add this process's counts to the shared table; returns the minute slots written."""
    with _lock:
        pending = dict(_pending)
        _pending.clear()
    try:
        with connection.cursor() as cursor:
            for minute, (requests, errors) in sorted(pending.items()):
                cursor.execute(
                    "INSERT INTO ops_request_minute (minute, requests, errors) VALUES (%s, %s, %s)"
                    " ON CONFLICT (minute) DO UPDATE SET"
                    " requests = ops_request_minute.requests + excluded.requests,"
                    " errors = ops_request_minute.errors + excluded.errors",
                    [minute, requests, errors],
                )
    except Exception:
        with _lock:  # keep the counts for the next try
            for minute, (requests, errors) in pending.items():
                tally = _pending.setdefault(minute, [0, 0])
                tally[0] += requests
                tally[1] += errors
        raise
    return len(pending)


@dataclass(frozen=True, slots=True)
class Window:
    requests: int
    errors: int

    @property
    def error_share(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def window(now: datetime, minutes: int) -> Window:
    """Requests and errors in the last `minutes` minute slots, the current one included."""
    last = minute_of(now)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(errors), 0)"
            " FROM ops_request_minute WHERE minute > %s AND minute <= %s",
            [last - minutes, last],
        )
        requests, errors = cursor.fetchone()
    return Window(int(requests), int(errors))


def prune(now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM ops_request_minute WHERE minute < %s", [minute_of(now) - KEEP_MINUTES]
        )


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            flush()
        except Exception:  # the database may be away for a while; the counts wait
            logger.exception("Could not store the request counts")


def start_flusher() -> bool:
    """Flush this process's counts every few seconds on a daemon thread; once per process."""
    if _flusher_started.is_set():
        return False
    _flusher_started.set()
    threading.Thread(target=_flush_forever, name="opencrf-traffic", daemon=True).start()
    return True
