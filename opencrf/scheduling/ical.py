"""iCalendar (RFC 5545) text of visits, written by hand: one VEVENT per visit, all-day.

Every content line ends in CRLF and is folded at 75 octets (RFC 5545 §3.1) without splitting
a UTF-8 character; TEXT values escape backslash, semicolon, comma and newline (§3.3.11). A
summary names the record only by its record id, never by other participant data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

FOLD_AT = 75  # octets per line, CRLF excluded


@dataclass(frozen=True, slots=True)
class CalendarItem:
    """One all-day event of the calendar."""

    uid: str
    day: date
    summary: str
    description: str = ""


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): `\\ ; ,` escaped, every line break as `\\n`."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return "".join(char for char in value if char == "\t" or _printable(char))


def _printable(char: str) -> bool:
    """Control characters are not TEXT (RFC 5545 §3.3.11); a tab is."""
    return ord(char) >= 0x20 and char != "\x7f"


def fold(line: str) -> str:
    """A content line folded into lines of at most 75 octets, each ended by CRLF."""
    pieces, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > FOLD_AT:
            pieces.append(current)
            current, size = " ", 1  # a continuation line starts with one space
        current += char
        size += width
    pieces.append(current)
    return "".join(piece + "\r\n" for piece in pieces)


def _date(day: date) -> str:
    return day.strftime("%Y%m%d")


def _event(item: CalendarItem, stamp: str) -> Iterator[str]:
    yield "BEGIN:VEVENT"
    yield f"UID:{escape_text(item.uid)}"
    yield f"DTSTAMP:{stamp}"
    yield f"DTSTART;VALUE=DATE:{_date(item.day)}"
    yield f"DTEND;VALUE=DATE:{_date(item.day + timedelta(days=1))}"
    yield f"SUMMARY:{escape_text(item.summary)}"
    if item.description:
        yield f"DESCRIPTION:{escape_text(item.description)}"
    yield "TRANSP:TRANSPARENT"
    yield "END:VEVENT"


def calendar_lines(name: str, items: Iterable[CalendarItem], now: datetime) -> Iterator[str]:
    """The calendar as folded lines, one chunk per content line (streamable). `now` is UTC."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    head = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//OpenCRF//Visit schedule//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for line in head:
        yield fold(line)
    for item in items:
        for line in _event(item, stamp):
            yield fold(line)
    yield fold("END:VCALENDAR")
