"""Dates and datetimes as stored (`YYYY-MM-DD[ HH:MM[:SS]]`), `datediff` and `calcdate`.

GRAMMAR.md §8.
"""

from __future__ import annotations

import datetime as dt
import math
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


def parse_shaped(text: str, clock: Clock) -> tuple[dt.datetime, str] | None:
    """The moment written in `text` (or `today`/`now`) and its shape, else None.

    The shape is `"date"`, `"minutes"` (`YYYY-MM-DD HH:MM`) or `"seconds"`.
    """
    stripped = text.strip(TRIMMED)
    keyword = stripped.lower()
    if keyword in ("today", "now"):
        stripped = clock.today if keyword == "today" else clock.now
    match = MOMENT.fullmatch(stripped)
    if match is None:
        return None
    shape = "seconds" if match[6] is not None else "minutes" if match[4] is not None else "date"
    year, month, day, hour, minute, second = (int(part) for part in match.groups(default="0"))
    try:
        moment = dt.datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - no zones
    except ValueError:
        return None
    return moment, shape


def parse_moment(text: str, clock: Clock) -> dt.datetime | None:
    """The date or datetime written in `text` (or `today`/`now`), else None."""
    shaped = parse_shaped(text, clock)
    return None if shaped is None else shaped[0]


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


EPOCH = dt.datetime(1, 1, 1)  # noqa: DTZ001 - no zones
LAST_SECOND = 315_537_897_599  # seconds(9999-12-31 23:59:59)
MAX_SHIFT = 1e15  # beyond any valid result, yet below 2**53 so JavaScript adds it exactly


def whole_seconds(shift: float) -> int:
    """`shift` rounded half away from zero (x − trunc(x) is exact for every double)."""
    whole = math.trunc(shift)
    if abs(shift - whole) >= 0.5:
        whole += 1 if shift > 0 else -1
    return whole


def calcdate(moment: dt.datetime, shape: str, offset: float, unit: str) -> str | None:
    """`moment` moved by `offset` `unit`s, written in `shape`; None for an unknown unit or a
    result outside years 0001–9999."""
    if unit not in SECONDS_PER_UNIT:
        return None
    shift = offset * SECONDS_PER_UNIT[unit]
    if not math.isfinite(shift) or abs(shift) > MAX_SHIFT:
        return None
    total = seconds(moment) + whole_seconds(shift)
    if not 0 <= total <= LAST_SECOND:
        return None
    result = EPOCH + dt.timedelta(seconds=total)
    if shape == "date":
        return result.date().isoformat()
    return result.isoformat(sep=" ", timespec=shape)  # "minutes" or "seconds"
