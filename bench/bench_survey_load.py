"""Respondents submitting a 30-field survey page at once against a real `opencrf serve`.

    python bench/bench_survey_load.py [--respondents 200] [--duration 60] [--think 0]
                                      [--link public|record|entry] [--workers 0]
                                      [--sqlite | --database-url URL] [--keep]

Makes a scratch PostgreSQL database (`createdb -h 127.0.0.1 -U postgres`, dropped at the end;
`--database-url` uses a given one and keeps it, `--sqlite` a scratch SQLite file), runs
`opencrf init`, then builds (through the services, in a subprocess): a project with surveys
enabled whose first instrument has a record id and 30 fields (text, e-mail, integer and number
with ranges, dates, radio, dropdown, checkbox, yes/no, notes; answers with Japanese text and
HTML) and is a survey on one page with a completion text to recognise. `--link record` also
makes records and one link each (`response_link`); `--link entry` instead has a user save the
same form through data entry (a baseline: the staff page, not the survey).

Starts `opencrf serve` on loopback (its default processes: 2 × CPUs + 1 on PostgreSQL, 8
threads each), with the public pages' per-address rate limits raised out of the way (every
simulated respondent comes from 127.0.0.1). Then `--respondents` threads, each a new browser
(no cookies) for every response, until the time is up (with `--think`, each first waits
uniform 0 … 2 × `--think` s, so that respondents arrive spread out rather than all at once):

1. GET the survey (`public`: the public link `/surveys/p/<token>/`, a new record per response;
   `record`: an unused record link `/surveys/s/<token>/`; `entry`: the record's form),
   following redirects; read the form, its CSRF token and hidden inputs from the HTML;
2. wait a random think time (uniform 0 … 2 × `--think` s), then POST every answer (values
   unique to the response) and follow the redirect to the completion page, which must show
   the survey's completion text (`entry`: the redirect must lead to the record's page).

An error is a failed connection, a status other than 2xx/3xx, or a final page without the
completion text. Afterwards, with the server stopped, every acknowledged response is looked up
in the database: its form must hold exactly the values sent, with a completed survey response
(not for `entry`), and `opencrf audit verify` must pass. Prints latency p50/p95/p99 of the
POST (and of POST + completion page, and of the GET), throughput, errors and lost responses,
and the server's CPU time a response (its processes and its PostgreSQL backends, from /proc).
Targets (issue 15): 200 respondents for 60 s, 0 errors, 0 lost responses, POST p95 ≤ 1 s.
Loopback only; bounded in respondents and time.
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
FORM = "questionnaire"
COMPLETION = "Thank you: bench response stored"
ADMIN = "survey_admin"
CLERK = "survey_clerk"
MAX_REDIRECTS = 5

# The 30 fields: name → (type, validation, min, max, choices, required).
CHOICES_4 = "1, Never | 2, Sometimes | 3, Often | 4, Always"
CHOICES_5 = "1, One | 2, Two | 3, Three | 4, Four | 5, Five"
CHOICES_BOX = "1, Morning | 2, Afternoon | 3, Evening"
FIELDS: list[tuple[str, str, str, str, str, str, str]] = [
    ("f01_tag", "text", "", "", "", "", "y"),
    ("f02_name", "text", "", "", "", "", ""),
    ("f03_city", "text", "", "", "", "", ""),
    ("f04_html", "text", "", "", "", "", ""),
    ("f05_email", "text", "email", "", "", "", ""),
    ("f06_age", "text", "integer", "18", "99", "", "y"),
    ("f07_visits", "text", "integer", "0", "50", "", ""),
    ("f08_score", "text", "integer", "", "", "", ""),
    ("f09_weight", "text", "number", "30", "200", "", ""),
    ("f10_height", "text", "number", "100", "220", "", ""),
    ("f11_temp", "text", "number", "", "", "", ""),
    ("f12_dob", "text", "date_ymd", "1900-01-01", "2010-12-31", "", "y"),
    ("f13_visit", "text", "date_ymd", "", "", "", ""),
    ("f14_onset", "text", "date_ymd", "", "", "", ""),
    ("f15_sleep", "radio", "", "", "", CHOICES_4, "y"),
    ("f16_pain", "radio", "", "", "", CHOICES_4, ""),
    ("f17_mood", "radio", "", "", "", CHOICES_4, ""),
    ("f18_walk", "radio", "", "", "", CHOICES_4, ""),
    ("f19_health", "dropdown", "", "", "", CHOICES_5, ""),
    ("f20_energy", "dropdown", "", "", "", CHOICES_5, ""),
    ("f21_appetite", "dropdown", "", "", "", CHOICES_5, ""),
    ("f22_stress", "dropdown", "", "", "", CHOICES_5, ""),
    ("f23_meals", "checkbox", "", "", "", CHOICES_BOX, ""),
    ("f24_exercise", "checkbox", "", "", "", CHOICES_BOX, ""),
    ("f25_symptoms", "checkbox", "", "", "", CHOICES_BOX, ""),
    ("f26_smoker", "yesno", "", "", "", "", "y"),
    ("f27_alcohol", "yesno", "", "", "", "", ""),
    ("f28_work", "yesno", "", "", "", "", ""),
    ("f29_comments", "notes", "", "", "", "", ""),
    ("f30_other", "notes", "", "", "", "", ""),
]
assert len(FIELDS) == 30


def answers(number: int, tag: str) -> dict[str, str]:
    """The storage keys (checkbox options as `field___code`) and values of one response."""
    n = number
    values = {
        "f01_tag": tag,
        "f02_name": f"Participant {tag}",
        "f03_city": f"東京都 {tag} 区",
        "f04_html": f"<b onclick=\"alert('{tag}')\">x</b> & <script>1</script>",
        "f05_email": f"{tag}@example.org",
        "f06_age": str(18 + n % 82),
        "f07_visits": str(n % 51),
        "f08_score": str(n % 100_000 - 500),
        "f09_weight": f"{40 + n % 120}.{n % 10}",
        "f10_height": f"{150 + n % 50}.5",
        "f11_temp": f"36.{n % 10}",
        "f12_dob": f"{1940 + n % 60}-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
        "f13_visit": f"2026-{n % 12 + 1:02d}-{(n // 7) % 28 + 1:02d}",
        "f14_onset": f"20{10 + n % 16}-0{n % 9 + 1}-1{n % 10}",
        "f29_comments": f"First line of {tag}\r\nSecond line: 回答 ✓",
        "f30_other": f'"quoted" <i>{tag}</i> 100% & more',
    }
    for offset, name in enumerate(("f15_sleep", "f16_pain", "f17_mood", "f18_walk")):
        values[name] = str((n + offset) % 4 + 1)
    for offset, name in enumerate(("f19_health", "f20_energy", "f21_appetite", "f22_stress")):
        values[name] = str((n + offset) % 5 + 1)
    for offset, name in enumerate(("f23_meals", "f24_exercise", "f25_symptoms")):
        ticks = (n >> offset) % 8  # three options, any of the eight combinations
        for bit, code in enumerate("123"):
            values[f"{name}___{code}"] = "1" if ticks & (1 << bit) else "0"
    for offset, name in enumerate(("f26_smoker", "f27_alcohol", "f28_work")):
        values[name] = str((n + offset) % 2)
    return values


# --- Set-up and verification, run in subprocesses with the server's environment. ---


def setup(link: str, links: int, password: str) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from opencrf.accounts.models import User
    from opencrf.audit.services import AuditContext
    from opencrf.dictionary.columns import FieldRow
    from opencrf.dictionary.services import dictionary_apply
    from opencrf.projects.models import ProjectMember
    from opencrf.projects.services import project_create
    from opencrf.records.models import Record, RecordArm, record_sort_key
    from opencrf.surveys.services import response_link, survey_enable

    admin = User.objects.get(username=ADMIN)
    context = AuditContext(actor=admin)
    project = project_create(context=context, title="Survey load bench", surveys_enabled=True)
    if link == "entry":  # a member who enters data (an administrator would need two factors)
        clerk = User.objects.create(
            username=CLERK, password=make_password(password), email="clerk@example.org"
        )
        ProjectMember.objects.create(project=project, user=clerk, form_rights={FORM: "edit"})
    rows = [FieldRow(field_name="record_id", form_name=FORM, field_label="Record ID")]
    for name, kind, validation, low, high, choices, required in FIELDS:
        rows.append(
            FieldRow(
                field_name=name,
                form_name=FORM,
                field_type=kind,
                field_label=f"Question {name[1:3]}: {name[4:].replace('_', ' ')}",
                text_validation_type_or_show_slider_number=validation,
                text_validation_min=low,
                text_validation_max=high,
                select_choices_or_calculations=choices,
                required_field=required,
            )
        )
    dictionary_apply(context=context, project=project, rows=rows, source="upload")
    survey = survey_enable(
        context=context,
        project=project,
        form_name=FORM,
        title="Bench questionnaire",
        instructions="Thirty questions, answered by simulated respondents.",
        completion_text=COMPLETION,
    )
    event = project.events.get()
    arm = project.arms.get()
    tokens: list[list[str]] = []
    if link in ("record", "entry"):
        with transaction.atomic():
            records = Record.objects.bulk_create(
                [
                    Record(project=project, record_id=str(n), sort_key=record_sort_key(str(n)))
                    for n in range(1, links + 1)
                ],
                batch_size=2000,
            )
            RecordArm.objects.bulk_create(
                [RecordArm(record=record, arm=arm) for record in records], batch_size=2000
            )
        for record in records:
            token = response_link(survey=survey, record=record, event=event).token
            tokens.append([record.record_id, token if link == "record" else ""])
    return {
        "project": project.pk,
        "event": event.unique_name,
        "public_token": survey.public_token,
        "links": tokens,
    }


def verify(project_id: int, link: str, acks_file: str) -> dict[str, Any]:
    """Every acknowledged response's stored form, compared with the values sent."""
    import django

    django.setup()
    from opencrf.audit.models import AuditEvent
    from opencrf.records.models import FormData

    acks = json.loads(Path(acks_file).read_text(encoding="utf-8"))
    forms = FormData.objects.filter(project_id=project_id, form_name=FORM).select_related("record")
    by_tag: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for form in forms:
        by_tag.setdefault(form.values.get("f01_tag", ""), []).append(
            (form.record.record_id, form.values)
        )
    completed: set[str] = set()
    if link != "entry":
        from opencrf.surveys.models import SurveyResponse

        completed = {
            response.record.record_id
            for response in SurveyResponse.objects.filter(
                project_id=project_id, status="completed", completed_at__isnull=False
            ).select_related("record")
            if response.record is not None
        }
    problems: list[str] = []
    acked_records: set[str] = set()
    for ack in acks:
        found = by_tag.get(ack["tag"], [])
        if len(found) != 1:
            problems.append(f"{ack['tag']}: {len(found)} stored forms hold this response")
            continue
        record_id, values = found[0]
        acked_records.add(record_id)
        if ack["record"] and record_id != ack["record"]:
            problems.append(f"{ack['tag']}: stored in record {record_id}, sent to {ack['record']}")
        expected = answers(ack["number"], ack["tag"])  # exactly, line ends too
        wrong = {k: (values.get(k), v) for k, v in expected.items() if values.get(k) != v}
        if wrong:
            key = next(iter(wrong))
            problems.append(
                f"{ack['tag']} (record {record_id}): {len(wrong)} values differ, e.g. "
                f"{key} stored {wrong[key][0]!r}, sent {wrong[key][1]!r}"
            )
        if link != "entry" and record_id not in completed:
            problems.append(f"{ack['tag']} (record {record_id}): no completed survey response")
    unacknowledged = sum(len(v) for tag, v in by_tag.items() if tag) - len(acked_records)
    audits = AuditEvent.objects.filter(project_id=project_id)
    return {
        "forms": sum(len(v) for v in by_tag.values()),
        "unacknowledged": unacknowledged,
        "completed_responses": len(completed),
        "problems": problems,
        "respondent_audit_events": audits.filter(
            actor__isnull=True, actor_name__startswith="[survey respondent #"
        ).count(),
        "audit_events": audits.count(),
    }


# --- The simulated respondents. ---

FORM_TAG = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
INPUT = re.compile(r"<input\b([^>]*)>", re.I)
SELECT = re.compile(r"<select\b([^>]*)>", re.I)
TEXTAREA = re.compile(r"<textarea\b([^>]*)>(.*?)</textarea>", re.S | re.I)
BUTTON = re.compile(r"<button\b([^>]*)>(.*?)</button>", re.S | re.I)
ATTR = re.compile(r'([\w:-]+)(?:\s*=\s*"([^"]*)")?')
NO_VALUE = ("submit", "button", "reset", "image", "file")


def attributes(tag: str) -> dict[str, str]:
    return {k.lower(): html.unescape(v) for k, v in ATTR.findall(tag)}


def filled_form(page: str, sent: dict[str, str]) -> tuple[str, dict[str, str]]:
    """(action, fields) of the page's form holding the survey's fields, answered with `sent`,
    as a browser would submit it: other inputs keep their values (hidden inputs, CSRF token,
    an empty honeypot), and the submit button that is not "save and return later" is pressed.
    """
    tags = [(attributes(a), body) for a, body in FORM_TAG.findall(page)]
    chosen = [(a, body) for a, body in tags if 'name="f01_tag"' in body]
    if len(chosen) != 1:
        raise Failure(f"{len(chosen)} forms with the survey's fields on the page")
    form_attrs, body = chosen[0]
    fields: dict[str, str] = {}
    present: set[str] = set()
    for tag in INPUT.findall(body):
        attrs = attributes(tag)
        name, kind = attrs.get("name", ""), attrs.get("type", "text").lower()
        if not name or kind in NO_VALUE or "disabled" in attrs:
            continue
        present.add(name)
        if kind in ("checkbox", "radio"):
            if name in sent:
                if sent[name] == ("1" if kind == "checkbox" else attrs.get("value")):
                    fields[name] = attrs.get("value", "on")
            elif "checked" in attrs:
                fields[name] = attrs.get("value", "on")
        else:
            fields[name] = sent.get(name, attrs.get("value", ""))
    for tag in SELECT.findall(body):
        name = attributes(tag).get("name", "")
        present.add(name)
        if name in sent:
            fields[name] = sent[name]
    for tag, content in TEXTAREA.findall(body):
        name = attributes(tag).get("name", "")
        present.add(name)
        fields[name] = sent.get(name, html.unescape(content))
    missing = sorted(set(sent) - present)
    if missing:
        raise Failure(f"the page lacks {len(missing)} fields, e.g. {missing[:3]}")
    buttons = [attributes(a) | {"text": b} for a, b in BUTTON.findall(body)]
    pressable = [
        b
        for b in buttons
        if b.get("type", "submit").lower() == "submit"
        and "disabled" not in b
        and not re.search(
            r"return|later|prev|back|reset", f"{b.get('value', '')} {b.get('name', '')}"
        )
    ]
    if pressable and pressable[-1].get("name"):
        fields[pressable[-1]["name"]] = pressable[-1].get("value", "")
    return form_attrs.get("action", ""), fields


class Failure(Exception):
    pass


class Browser:
    """One respondent's browser: cookies, a new loopback connection for each request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, referer: str = ""
    ) -> tuple[int, dict[str, str], str]:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=120)
        headers = {"Host": f"{HOST}:{self.port}", "User-Agent": "opencrf-bench-survey"}
        if referer:
            headers["Referer"] = referer
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://{HOST}:{self.port}"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, dict(response.headers.items()), text
        finally:
            connection.close()

    def get(self, path: str) -> tuple[str, str]:
        """(final path, page) of a GET, following redirects."""
        for _ in range(MAX_REDIRECTS):
            status, headers, page = self.request("GET", path)
            if status in (301, 302, 303, 307, 308):
                path = urllib.parse.urljoin(path, headers.get("Location", ""))
                continue
            if status != 200:
                raise Failure(f"GET {path}: {status} {page[:200]!r}")
            return path, page
        raise Failure(f"GET {path}: more than {MAX_REDIRECTS} redirects")

    def log_in(self, username: str, password: str) -> None:
        _, page = self.get("/accounts/login/")
        _, fields = "", {"username": username, "password": password}
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]*)"', page)
        if token is None:
            raise Failure("no CSRF token on the login page")
        fields["csrfmiddlewaretoken"] = token.group(1)
        status, _, _ = self.request("POST", "/accounts/login/", fields)
        if status != 302 or "sessionid" not in self.cookies:
            raise Failure(f"login refused: {status}")


@dataclass
class Stats:
    responses: int = 0
    errors: list[str] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    get_ms: list[float] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    out_of_links: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Links:
    """The unused record links (or records, for data entry), handed out once each."""

    def __init__(self, links: list[list[str]]) -> None:
        self.links = list(reversed(links))
        self.lock = threading.Lock()

    def take(self) -> tuple[str, str] | None:
        with self.lock:
            if not self.links:
                return None
            record, token = self.links.pop()
            return record, token


def respond(
    number: int,
    tag: str,
    browser: Browser,
    start_path: str,
    args: argparse.Namespace,
    rng: random.Random,
    stats: Stats,
) -> str | None:
    """One response from the first GET to the completion page; returns an error or None."""
    sent = answers(number, tag)
    try:
        started = time.perf_counter()
        path, page = browser.get(start_path)
        got = (time.perf_counter() - started) * 1000
        action, fields = filled_form(page, sent)
        if args.link == "entry":
            fields["action"] = "exit"
            fields[f"{FORM}_complete"] = "2"
        if args.think:
            time.sleep(rng.uniform(0, 2 * args.think))
        target = urllib.parse.urljoin(path, action) if action else path
        started = time.perf_counter()
        status, headers, body = browser.request("POST", target, fields, referer=path)
        posted = (time.perf_counter() - started) * 1000
        if status in (301, 302, 303):
            _, body = browser.get(urllib.parse.urljoin(target, headers.get("Location", "")))
        elif status != 200:
            raise Failure(f"POST {target}: {status} {body[:300]!r}")
        submitted = (time.perf_counter() - started) * 1000
        if args.link == "entry":  # the data entry baseline: saved, back on the record's page
            home = "/".join(start_path.split("/")[:5]) + "/"
            done = status == 302 and headers.get("Location", "") == home
        else:
            done = COMPLETION in body
        if not done:
            problem = re.search(
                r'class="[^"]*(?:invalid|error|alert)[^"]*"[^>]*>([^<]{0,200})', body
            )
            raise Failure(
                f"POST {target}: {status}, not the completion page"
                + (f" ({problem.group(1).strip()!r})" if problem else f" ({body[:200]!r})")
            )
    except Exception as error:  # every failure is counted, none stops the others
        return f"{tag}: {error!r}"[:500]
    with stats.lock:
        stats.responses += 1
        stats.get_ms.append(got)
        stats.post_ms.append(posted)
        stats.submit_ms.append(submitted)
    return None


def respondent_loop(
    client: int,
    args: argparse.Namespace,
    setup_info: dict[str, Any],
    links: Links,
    session: dict[str, str],
    port: int,
    barrier: threading.Barrier,
    deadline: list[float],
    stats: Stats,
) -> None:
    rng = random.Random(client)
    barrier.wait()
    if args.think:  # respondents arrive spread over one think time, not all at the same instant
        time.sleep(rng.uniform(0, 2 * args.think))
    iteration = 0
    while time.monotonic() < deadline[0]:
        iteration += 1
        number = client * 100_000 + iteration
        tag = f"c{client:03d}i{iteration:05d}"
        browser = Browser(port)
        record = ""
        if args.link == "public":
            start = f"/surveys/p/{setup_info['public_token']}/"
        else:
            taken = links.take()
            if taken is None:
                with stats.lock:
                    stats.out_of_links += 1
                return
            record, token = taken
            if args.link == "record":
                start = f"/surveys/s/{token}/"
            else:
                browser.cookies.update(session)
                start = (
                    f"/projects/{setup_info['project']}/records/{record}/"
                    f"{setup_info['event']}/{FORM}/1/"
                )
        error = respond(number, tag, browser, start, args, rng, stats)
        with stats.lock:
            if error is None:
                stats.acks.append({"tag": tag, "number": number, "record": record})
            else:
                stats.errors.append(error)


class ServerCpu:
    """CPU seconds the server spends: its processes (the process group of `opencrf serve`)
    and the PostgreSQL backends connected to its database, sampled every second from /proc
    (a backend that closes between two samples loses at most a second of its count)."""

    def __init__(self, group: int, database_url: str) -> None:
        self.group = group
        self.database_url = database_url
        self.start: dict[str, dict[int, float]] = {"web": {}, "db": {}}
        self.last: dict[str, dict[int, float]] = {"web": {}, "db": {}}
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    @staticmethod
    def _cpu(pid: int) -> tuple[int, float] | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return int(fields[2]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _backends(self, cursor: Any) -> list[int]:
        if cursor is None:
            return []
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]

    def sample(self, cursor: Any) -> None:
        seen: dict[str, dict[int, float]] = {"web": {}, "db": {}}
        for entry in os.scandir("/proc"):
            found = self._cpu(int(entry.name)) if entry.name.isdigit() else None
            if found and found[0] == self.group:
                seen["web"][int(entry.name)] = found[1]
        for pid in self._backends(cursor):
            if found := self._cpu(pid):
                seen["db"][pid] = found[1]
        with self.lock:
            for kind, pids in seen.items():
                self.last[kind].update(pids)

    def begin(self) -> None:
        """From now on: what was spent before (start-up, set-up) does not count."""
        connection = None
        if self.database_url:
            import psycopg

            connection = psycopg.connect(self.database_url, autocommit=True)
        self.sample(connection.cursor() if connection is not None else None)
        self.start = {kind: dict(pids) for kind, pids in self.last.items()}
        self.thread = threading.Thread(target=self._run, args=(connection,), daemon=True)
        self.thread.start()

    def _run(self, connection: Any) -> None:
        cursor = connection.cursor() if connection is not None else None
        while not self.stopped.wait(1.0):
            self.sample(cursor)
        self.sample(cursor)
        if connection is not None:
            connection.close()

    def end(self) -> dict[str, float]:
        """CPU seconds of the web processes and of the database since `begin`."""
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
        with self.lock:
            return {
                kind: sum(cpu - self.start[kind].get(pid, 0.0) for pid, cpu in pids.items())
                for kind, pids in self.last.items()
            }


# --- The run. ---


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def server_env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENCRF_", "DJANGO_")) and k != "DATABASE_URL"
    }
    env.update(
        OPENCRF_DATA_DIR=str(data_dir),
        OPENCRF_HTTPS="false",
        OPENCRF_SECRET_KEY=secrets.token_urlsafe(50),
        OPENCRF_LANGUAGE="en",
        OPENCRF_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="opencrf.config.settings",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def run(command: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:4])} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/-/ready")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    sys.exit(f"server not ready in 90 s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (
        f"python {platform.python_version()}, nproc {os.cpu_count()}, CPU {model or '?'}, "
        f"{platform.machine()}, load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def scratch_database(args: argparse.Namespace) -> tuple[str, str]:
    """(DATABASE_URL, name of a database made here to drop at the end, or "")."""
    if args.sqlite:
        return "", ""
    if args.database_url:
        return args.database_url, ""
    name = f"opencrf_bench_survey_{os.getpid()}"
    run(["createdb", "-h", HOST, "-U", "postgres", name], dict(os.environ), ROOT)
    return f"postgres://postgres@{HOST}:5432/{name}", name


RAISED_LIMITS = (
    "OPENCRF_SURVEY_POSTS_PER_ADDRESS",  # opencrf/surveys/ratelimit.py: 120 a minute
    "OPENCRF_SURVEY_STARTS_PER_ADDRESS",  # new responses through a public link: 60 a minute
)


def raised_limits(root: Path) -> dict[str, str]:
    """The server's environment for settings that raise the public pages' per-address rate
    limits out of the way: every simulated respondent comes from 127.0.0.1. The limits are
    Django settings with no environment variable, so a settings module in the scratch folder
    sets them over the production settings."""
    module = "bench_survey_settings"
    lines = ["from opencrf.config.settings import *  # noqa: F403"]
    lines += [f"{name} = 1_000_000_000" for name in RAISED_LIMITS]
    (root / f"{module}.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"DJANGO_SETTINGS_MODULE": module, "PYTHONPATH": f"{root}{os.pathsep}{ROOT}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of responding")
    parser.add_argument("--think", type=float, default=0.0, help="mean seconds before a POST")
    parser.add_argument("--link", choices=("public", "record", "entry"), default="public")
    parser.add_argument(
        "--links", type=int, default=0, help="record links made (default 10 × respondents)"
    )
    parser.add_argument("--workers", type=int, default=0, help="server processes (0: default)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--sqlite", action="store_true", help="a scratch SQLite file instead")
    where.add_argument("--database-url", default="", help="an existing database (kept)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    if not 1 <= args.respondents <= 500 or not 0 < args.duration <= 1800:
        sys.exit("--respondents 1..500 and --duration up to 1800 s")

    root = Path(tempfile.mkdtemp(prefix="opencrf-survey-load-"))
    database_url, made = scratch_database(args)
    try:
        measure(args, root, database_url)
    finally:
        if made:
            subprocess.run(
                ["dropdb", "-h", HOST, "-U", "postgres", "--if-exists", made], check=False
            )
        if args.keep:
            print(f"scratch folder kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def measure(args: argparse.Namespace, root: Path, database_url: str) -> None:
    """Set up, serve, respond, verify and report (the database and folder are the caller's)."""
    links_wanted = args.links or 10 * args.respondents
    data_dir = root / "data"
    data_dir.mkdir()
    env = server_env(data_dir, database_url)
    python = [sys.executable]
    admin_password = secrets.token_urlsafe(18)
    (root / "admin-password").write_text(admin_password, encoding="utf-8")
    print(machine())
    print(f"database: {'PostgreSQL ' + database_url if database_url else 'SQLite'}")
    server: subprocess.Popen[bytes] | None = None
    try:
        started = time.monotonic()
        run(
            [
                *python,
                "-m",
                "opencrf",
                "init",
                "--admin",
                ADMIN,
                "--email",
                "a@example.org",
                "--password-file",
                str(root / "admin-password"),
            ],
            env,
            root,
        )
        made_links = links_wanted if args.link != "public" else 0
        info = json.loads(
            run(
                [*python, __file__, "_setup", args.link, str(made_links), admin_password],
                env,
                root,
            )
            .strip()
            .splitlines()[-1]
        )
        port = free_port()
        log_path = root / "server.log"
        command = [*python, "-m", "opencrf", "serve", "--host", HOST, "--port", str(port)]
        if args.workers:
            command += ["--workers", str(args.workers)]
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                command,
                env=env | raised_limits(root),
                cwd=root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_ready(port, server, log_path)
        print(
            f"setup {time.monotonic() - started:.1f} s ({len(info['links'])} records with links);"
            f" server pid {server.pid} on port {port}"
        )
        session: dict[str, str] = {}
        if args.link == "entry":
            admin = Browser(port)
            admin.log_in(CLERK, admin_password)
            session = admin.cookies
        stats = Stats()
        links = Links(info["links"])
        barrier = threading.Barrier(args.respondents + 1, timeout=600)
        deadline = [float("inf")]
        threads = [
            threading.Thread(
                target=respondent_loop,
                args=(n, args, info, links, session, port, barrier, deadline, stats),
                daemon=True,
            )
            for n in range(1, args.respondents + 1)
        ]
        for thread in threads:
            thread.start()
        server_cpu = ServerCpu(server.pid, database_url)
        server_cpu.begin()
        barrier.wait()
        cpu_start = time.process_time()
        window_start = time.monotonic()
        deadline[0] = window_start + args.duration
        print(
            f"{args.respondents} respondents ({args.link} link) for {args.duration:.0f} s, "
            f"think time uniform 0–{2 * args.think:.1f} s"
        )
        for thread in threads:
            thread.join(timeout=args.duration + 600)
        window = time.monotonic() - window_start
        client_cpu = time.process_time() - cpu_start
        spent = server_cpu.end()
    finally:
        if server is not None:
            stop(server)
    acks_file = root / "acks.json"
    acks_file.write_text(json.dumps(stats.acks), encoding="utf-8")
    stored = json.loads(
        run(
            [*python, __file__, "_verify", str(info["project"]), args.link, str(acks_file)],
            env,
            root,
        )
        .strip()
        .splitlines()[-1]
    )
    project = str(info["project"])
    audit = subprocess.run(
        [*python, "-m", "opencrf", "audit", "verify", "--no-backups", "--project", project],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    report(args, stats, stored, audit, window, client_cpu, spent)
    server_faults(root / "server.log")


EXCEPTION_LINE = re.compile(r"^([\w.]+(?:Error|Exception|Input|Denied|Found))(?::|$)(.*)$", re.M)


def server_faults(log: Path) -> None:
    """The exceptions the server logged (a 500's traceback ends with one), most frequent first."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    counts: dict[str, int] = {}
    for name, message in EXCEPTION_LINE.findall(text):
        key = f"{name}:{re.sub(r'[0-9]+', 'N', message)[:120]}"
        counts[key] = counts.get(key, 0) + 1
    print(f"exceptions in the server log {sum(counts.values())}")
    for key, count in sorted(counts.items(), key=lambda item: -item[1])[:5]:
        print(f"  {count} × {key}")


def report(
    args: argparse.Namespace,
    stats: Stats,
    stored: dict[str, Any],
    audit: subprocess.CompletedProcess[str],
    window: float,
    client_cpu: float,
    spent: dict[str, float],
) -> None:
    problems = stored["problems"]
    print(
        f"window {window:.1f} s; acknowledged responses {stats.responses} "
        f"({stats.responses / window:.1f}/s); client CPU {client_cpu:.1f} s "
        f"({100 * client_cpu / window:.0f} % of one CPU)"
    )
    each = max(1, stats.responses + len(stats.errors))
    print(
        f"server CPU {spent['web']:.1f} s web processes + {spent['db']:.1f} s PostgreSQL "
        f"backends = {1000 * (spent['web'] + spent['db']) / each:.0f} ms a response "
        f"({1000 * spent['web'] / each:.0f} + {1000 * spent['db'] / each:.0f} ms; "
        "errors counted as responses)"
    )
    print(
        f"stored forms {stored['forms']} "
        f"(written but not acknowledged {stored['unacknowledged']}); "
        f"completed survey responses {stored['completed_responses']}; audit events "
        f"{stored['audit_events']}, of survey respondents {stored['respondent_audit_events']}"
    )
    if stats.out_of_links:
        print(f"respondents who ran out of record links {stats.out_of_links} (raise --links)")
    print(f"errors {len(stats.errors)}")
    for error in stats.errors[:10]:
        print(f"  {error}")
    print(f"lost responses / mismatches {len(problems)}")
    for problem in problems[:10]:
        print(f"  {problem}")
    audit_ok = audit.returncode == 0
    print(f"audit verify: {'ok' if audit_ok else 'FAILED'}")
    if not audit_ok:
        print("  " + (audit.stdout + audit.stderr).strip().replace("\n", "\n  ")[-2000:])

    def line(name: str, values: list[float]) -> str:
        return (
            f"{name}: p50 {percentile(values, 0.5):.0f} ms, p95 {percentile(values, 0.95):.0f} ms,"
            f" p99 {percentile(values, 0.99):.0f} ms, max {max(values, default=0):.0f} ms"
        )

    print(line("POST latency", stats.post_ms))
    print(line("POST + completion page", stats.submit_ms))
    print(line("survey GET (with redirects)", stats.get_ms))
    p95 = percentile(stats.post_ms, 0.95)
    ok = bool(stats.responses) and not stats.errors and not problems and audit_ok and p95 <= 1000
    print(f"targets (0 errors, 0 lost responses, POST p95 ≤ 1 s): {'met' if ok else 'NOT MET'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["_setup"]:
        print(json.dumps(setup(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
    elif sys.argv[1:2] == ["_verify"]:
        print(json.dumps(verify(int(sys.argv[2]), sys.argv[3], sys.argv[4])))
    else:
        main()
