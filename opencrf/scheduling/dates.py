"""Date arithmetic of schedules and calendars: pure functions, no database.

A visit's protocol date is the start date plus its event's day offset; its window runs from
`offset_min` days before that date to `offset_max` days after it, both ends included.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext as _

from opencrf.core.errors import InvalidInput

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
ISO_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
# Dates outside these years are refused: no study plans visits there, and the arithmetic
# of offsets stays far from date.min and date.max.
FIRST_YEAR, LAST_YEAR = 1900, 2200


@dataclass(frozen=True, slots=True)
class VisitDates:
    protocol: date
    window_start: date
    window_end: date


def visit_dates(start: date, day_offset: int, offset_min: int, offset_max: int) -> VisitDates:
    """The protocol date and window of an event `day_offset` days after `start`."""
    protocol = start + timedelta(days=day_offset)
    return VisitDates(
        protocol, protocol - timedelta(days=offset_min), protocol + timedelta(days=offset_max)
    )


def parse_date(text: str, what: str) -> date:
    """A `YYYY-MM-DD` date between FIRST_YEAR and LAST_YEAR, else InvalidInput naming `what`."""
    value = text.strip()
    parsed = _calendar_date(value) if ISO_DATE.fullmatch(value) else None
    if parsed is None or not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise InvalidInput(
            _("%(what)s: “%(value)s” is not a date (YYYY-MM-DD, years %(first)s–%(last)s).")
            % {"what": what, "value": value[:40], "first": FIRST_YEAR, "last": LAST_YEAR}
        )
    return parsed


def stored_date(value: str) -> date | None:
    """A stored date value (`YYYY-MM-DD`, or a datetime's date part), None when not one."""
    head = value.strip()[:10]
    parsed = _calendar_date(head) if ISO_DATE.fullmatch(head) else None
    if parsed is None or not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        return None
    return parsed


def _calendar_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_month(text: str, today: date) -> date:
    """The first day of the month `YYYY-MM`; this month when `text` is empty or not a month."""
    match = ISO_MONTH.fullmatch(text.strip())
    if match is None:
        return today.replace(day=1)
    year, month = int(match.group(1)), int(match.group(2))
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        return today.replace(day=1)
    return date(year, month, 1)


def month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def next_month(first: date) -> date:
    return month_end(first) + timedelta(days=1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def month_weeks(first: date) -> list[list[date]]:
    """The weeks shown for the month of `first`, Sunday to Saturday, with the days of the
    neighbouring months that fill the first and last week (REDCap's calendar starts Sunday)."""
    return calendar.Calendar(firstweekday=calendar.SUNDAY).monthdatescalendar(
        first.year, first.month
    )
