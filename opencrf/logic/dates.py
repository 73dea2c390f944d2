"""Dates and datetimes as stored (`YYYY-MM-DD[ HH:MM[:SS]]`), and `datediff` (GRAMMAR.md §8)."""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from opencrf.logic.numeric import TRIMMED

MOMENT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?: ([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?")
SECONDS_PER_UNIT = {
    "y": 31_556_952,  # 365.2425 days
    "M": 2_630_016,  # 30.44 days
    "d": 86_400,
    "h": 3_600,
    "m": 60,
    "s": 1,
}


class Clock(NamedTuple):
    """What `'today'` and `'now'` stand for: `YYYY-MM-DD` and `YYYY-MM-DD HH:MM:SS`."""

    today: str
    now: str


def real_clock() -> Clock:
    now = dt.datetime.now(dt.UTC).astimezone()
    return Clock(now.strftime("%Y-%m-%d"), now.strftime("%Y-%m-%d %H:%M:%S"))


def parse_moment(text: str, clock: Clock) -> dt.datetime | None:
    """The date or datetime written in `text` (or `today`/`now`), else None."""
    stripped = text.strip(TRIMMED)
    keyword = stripped.lower()
    if keyword in ("today", "now"):
        stripped = clock.today if keyword == "today" else clock.now
    match = MOMENT.fullmatch(stripped)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups(default="0"))
    try:
        return dt.datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - no zones
    except ValueError:
        return None


def seconds(moment: dt.datetime) -> int:
    """Whole seconds since 0001-01-01 00:00 in the proleptic Gregorian calendar."""
    return (
        (moment.toordinal() - 1) * 86_400 + moment.hour * 3_600 + moment.minute * 60 + moment.second
    )


def datediff(first: dt.datetime, second: dt.datetime, unit: str, signed: bool) -> float | None:
    """(second − first) in `unit`, not rounded; None for an unknown unit."""
    if unit not in SECONDS_PER_UNIT:
        return None
    difference = seconds(second) - seconds(first)
    if not signed:
        difference = abs(difference)
    return difference / SECONDS_PER_UNIT[unit]
