"""The iCalendar export, read back by a strict RFC 5545 reader written for this test."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.test import Client

from opencrf.audit.models import AuditEvent
from opencrf.scheduling.ical import CalendarItem, calendar_lines, escape_text, fold

pytestmark = pytest.mark.django_db

NAME = re.compile(r"[A-Z][A-Z0-9-]*")
PARAM = re.compile(r";([A-Z][A-Z0-9-]*)=([^;:,\"]+)")
REQUIRED = {"VEVENT": {"UID", "DTSTAMP", "DTSTART", "SUMMARY"}}
TEXT_VALUE = re.compile(r"(?:[^\\;,\x00-\x08\x0a-\x1f\x7f]|\\[\\;,nN])*")


def parse_strictly(payload: bytes) -> list[dict[str, str]]:
    """The VEVENTs of an iCalendar stream as {property: unescaped value}; any deviation from
    RFC 5545's lexical rules fails the test: CRLF only, ≤ 75 octets a line, valid UTF-8,
    folded lines starting with one space, balanced BEGIN/END, required properties, TEXT
    values with only the four escapes."""
    text = payload.decode("utf-8")
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    assert all("\n" not in line and "\r" not in line for line in physical)
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)
    lines: list[str] = []
    for line in physical:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    stack: list[str] = []
    events: list[dict[str, str]] = []
    for line in lines:
        head, _colon, value = line.partition(":")
        name = NAME.match(head)
        assert name is not None and _colon, line
        params = head[name.end() :]
        assert PARAM.sub("", params) == "", line
        prop = name.group()
        if prop == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                events.append({})
            continue
        if prop == "END":
            assert stack.pop() == value
            if value == "VEVENT":
                assert REQUIRED["VEVENT"] <= set(events[-1]), events[-1]
            continue
        if prop in {"SUMMARY", "DESCRIPTION", "X-WR-CALNAME", "UID"}:
            assert TEXT_VALUE.fullmatch(value), line
            value = re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)
        if prop in {"DTSTART", "DTEND"}:
            assert params == ";VALUE=DATE" and re.fullmatch(r"\d{8}", value), line
            date(int(value[:4]), int(value[4:6]), int(value[6:]))
        if prop == "DTSTAMP":
            assert re.fullmatch(r"\d{8}T\d{6}Z", value), line
        if stack and stack[-1] == "VEVENT":
            assert prop not in events[-1], f"{prop} twice"
            events[-1][prop] = value
    assert stack == []
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    return events


def test_text_escapes_backslash_semicolon_comma_and_line_breaks():
    assert escape_text("a\\b; c, d\r\ne\rf\ng\x07") == "a\\\\b\\; c\\, d\\ne\\nf\\ng"


def test_folding_keeps_lines_within_75_octets_and_never_splits_a_character():
    line = "SUMMARY:" + "訪問" * 60

    folded = fold(line)

    parts = folded.split("\r\n")[:-1]
    assert all(len(part.encode("utf-8")) <= 75 for part in parts)
    assert "".join([parts[0], *(p[1:] for p in parts[1:])]) == line
    assert all(p.startswith(" ") for p in parts[1:])


def test_a_hostile_calendar_reads_back_exactly():
    items = [
        CalendarItem("visit-1-2@example.org", date(2026, 2, 21), "Record 1-1: Week 4, a; b\\c"),
        CalendarItem("visit-1-3@example.org", date(2026, 12, 31), "x" * 200, "line 1\nline 2"),
    ]
    now = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)

    payload = "".join(calendar_lines("Study, phase 2;\nJapan", items, now)).encode("utf-8")
    events = parse_strictly(payload)

    assert events == [
        {
            "UID": "visit-1-2@example.org",
            "DTSTAMP": "20261207T200000Z",
            "DTSTART": "20260221",
            "DTEND": "20260222",
            "SUMMARY": "Record 1-1: Week 4, a; b\\c",
            "TRANSP": "TRANSPARENT",
        },
        {
            "UID": "visit-1-3@example.org",
            "DTSTAMP": "20261207T200000Z",
            "DTSTART": "20261231",
            "DTEND": "20270101",
            "SUMMARY": "x" * 200,
            "DESCRIPTION": "line 1\nline 2",
            "TRANSP": "TRANSPARENT",
        },
    ]
    assert b"X-WR-CALNAME:Study\\, phase 2\\;\\nJapan\r\n" in payload


@pytest.fixture
def export(two_sites_for_ical):
    def get(user):
        client = Client()
        client.force_login(user)
        response = client.get(f"/projects/{two_sites_for_ical.pk}/calendar/visits.ics")
        assert response["Content-Type"] == "text/calendar; charset=utf-8"
        return parse_strictly(b"".join(response.streaming_content))

    return get


@pytest.fixture
def two_sites_for_ical(anchored, make_record, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: date(2026, 2, 20))
    make_record("1-1", "osaka_central", consent="2026-01-10")
    make_record("2-1", "kyoto_north", consent="2026-01-11")
    return anchored


def test_the_export_holds_only_the_visits_of_records_the_user_may_see(
    two_sites_for_ical, export, sam, pi_paula
):
    mine = export(sam)
    everyone = export(pi_paula)

    assert [(e["SUMMARY"], e["DTSTART"]) for e in mine] == [
        ("Record 1-1: スクリーニング / Screening", "20260110"),
        ("Record 1-1: ベースライン / Baseline", "20260124"),
        ("Record 1-1: 4週 / Week 4", "20260221"),
        ("Record 1-1: 12週 / Week 12", "20260418"),
        ("Record 1-1: 24週 / Week 24", "20260711"),
    ]
    assert mine[2]["DESCRIPTION"] == "Window: 2026-02-14 to 2026-02-28. Status: Due."
    assert len(everyone) == 10
    assert {e["UID"].split("@")[0].rsplit("-", 2)[0] for e in everyone} == {"visit"}
    assert AuditEvent.objects.filter(action="calendar.export").count() == 2


def test_the_export_names_no_participant_data_beyond_the_record_id(
    two_sites_for_ical, export, pi_paula, paula_context, events
):
    from opencrf.records.models import Record
    from opencrf.records.services import form_save

    form_save(
        context=paula_context,
        record=Record.objects.get(record_id="1-1"),
        event=events["screening_arm_1"],
        form_name="screening",
        values={"initials": "ZQ", "dob": "1961-03-04"},
        base_version=1,
    )

    events_out = export(pi_paula)

    assert {tuple(sorted(e)) for e in events_out} == {
        ("DESCRIPTION", "DTEND", "DTSTAMP", "DTSTART", "SUMMARY", "TRANSP", "UID")
    }
    assert all(re.fullmatch(r"Record (1-1|2-1): .+", e["SUMMARY"]) for e in events_out)
    assert "ZQ" not in repr(events_out) and "1961" not in repr(events_out)
