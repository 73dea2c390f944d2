"""Sending scheduled survey invitations to a local SMTP server (target: 1,000 in ≤ 60 s).

    python bench/bench_invitations.py [--count 1000] [--batch 100]

Loads the demo study in a scratch data folder (SQLite, or DATABASE_URL when set), makes
quality of life a survey, and schedules `--count` invitations through the compose service:
half to records (each with its address in a field, the message piping record values), half
to participants of the participant list who have no record yet. Then runs the send job
(`invitations_send_due`: claim a batch, pipe, send over one SMTP connection per batch, mark
each row) against an aiosmtpd server on loopback, and checks that every message arrived
with its own link. Prints the time and the rate.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import threading
import time
from typing import Any

from benchsetup import setup_django

DATA_DIR = setup_django()

from aiosmtpd.controller import Controller  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from opencrf.accounts.models import User  # noqa: E402
from opencrf.audit.services import AuditContext  # noqa: E402
from opencrf.demo.loader import load_demo  # noqa: E402
from opencrf.dictionary.design import design_of  # noqa: E402
from opencrf.projects.models import Event  # noqa: E402
from opencrf.records.bulk import FormWrite, forms_write_many, records_create_many  # noqa: E402
from opencrf.surveys.invitation_jobs import invitations_send_due  # noqa: E402
from opencrf.surveys.invitations import Message, invitations_compose  # noqa: E402
from opencrf.surveys.models import Invitation, Participant, Survey  # noqa: E402
from opencrf.surveys.services import survey_enable  # noqa: E402

BODY = (
    "Dear participant of [record-name],\n\n"
    "Your HbA1c at baseline was [baseline_arm_1][hba1c]. Please answer “[survey-title]”:\n"
    "[survey-link]\n\nAccess code: [survey-access-code]\n"
)


class Counter:
    """An SMTP handler that counts messages and the survey links they carry."""

    def __init__(self) -> None:
        self.count = 0
        self.links: set[str] = set()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        text = envelope.content.decode("utf-8", "replace")
        link = next((word for word in text.split() if "/surveys/s/" in word), "")
        with self.lock:
            self.count += 1
            self.links.add(link)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def schedule(count: int) -> None:
    admin = User.objects.create_superuser("bench", "b@example.org", "x" * 20)
    context = AuditContext(actor=admin)
    project, _created = load_demo(owner_username="bench")
    project.surveys_enabled = True
    project.save(update_fields=["surveys_enabled"])
    survey = Survey.objects.filter(project=project, form_name="quality_of_life").first()
    survey = survey or survey_enable(context=context, project=project, form_name="quality_of_life")
    event = Event.objects.get(project=project, unique_name="baseline_arm_1")
    half = count // 2
    wanted = [(f"inv-{n}", None, None) for n in range(1, half + 1)]
    records = list(records_create_many(context=context, project=project, wanted=wanted).values())
    writes = [
        FormWrite(
            r,
            event,
            "baseline",
            1,
            {"baseline_notes": f"{r.record_id}@example.org", "hba1c": "7.5"},
        )
        for r in records
    ]
    forms_write_many(context=context, project=project, design=design_of(project), writes=writes)
    people = Participant.objects.bulk_create(
        Participant(project=project, survey=survey, event=event, email=f"p{n}@example.org")
        for n in range(count - half)
    )
    message = Message(subject="[survey-title] — [record-name]", body=BODY)
    invitations_compose(
        context=context,
        survey=survey,
        event=event,
        message=message,
        participants=people,
        records=records,
        email_field="baseline_notes",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average {os.getloadavg()}, database {connection.vendor}"
    )
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    schedule(args.count)
    waiting = Invitation.objects.filter(status="scheduled").count()
    print(f"scheduled {waiting} invitations in {time.perf_counter() - started:.1f} s")

    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        started = time.perf_counter()
        report = invitations_send_due(batch=args.batch, budget=600.0)
        elapsed = time.perf_counter() - started
    finally:
        controller.stop()
    sent = Invitation.objects.filter(status="sent").count()
    print(f"sent {report.sent}, failed {report.failed}, skipped {report.skipped}")
    print(f"received by the SMTP server: {counter.count}, distinct links {len(counter.links)}")
    print(
        f"send {sent} invitations (batches of {args.batch}): {elapsed:.2f} s, "
        f"{sent / elapsed:.0f} per second"
    )
    if report.failed or counter.count != waiting or len(counter.links) != waiting:
        raise SystemExit("some invitations were not delivered, or not with their own link")


if __name__ == "__main__":
    main()
