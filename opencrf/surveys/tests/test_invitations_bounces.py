"""What the mail server answers decides an invitation's fate: a refused recipient bounces, a
temporary refusal is tried again later, and both are shown to staff. A real SMTP server on
loopback refuses `gone@` with 550, `busy@` with 451, and a message to `spam@` with 554."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse
from django.utils import timezone

from opencrf.projects.models import Event
from opencrf.surveys.invitation_jobs import (
    BOUNCED,
    PERMANENT,
    RETRY_DELAYS,
    TEMPORARY,
    Refusal,
    SendReport,
    invitations_send_due,
    refusal_of,
)
from opencrf.surveys.invitations import (
    COMPLETED,
    Message,
    invitation_cancel,
    invitation_resend,
    invitations_compose,
)
from opencrf.surveys.models import Invitation, Participant, SurveyResponse
from opencrf.testing.smtp import Inbox, _free_port

pytestmark = pytest.mark.django_db

GONE = "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown"
BUSY = "451 4.7.1 <busy@example.org>: Greylisted, try again later"
SPAM = "554 5.7.1 Message refused as spam"


@dataclass
class RefusingInbox(Inbox):
    """An inbox whose server refuses some recipients at RCPT TO, and some messages at DATA."""

    refused: dict[str, str] = field(
        default_factory=lambda: {"gone@example.org": GONE, "busy@example.org": BUSY}
    )
    refused_data: dict[str, str] = field(default_factory=lambda: {"spam@example.org": SPAM})

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        for address in envelope.rcpt_tos:
            if address in self.refused_data:
                return self.refused_data[address]
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def server(settings) -> Iterator[RefusingInbox]:
    inbox = RefusingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "OpenCRF <edc@example.ac.jp>"
    settings.OPENCRF_SITE_URL = "https://edc.example.ac.jp"
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def baseline(demo):
    return Event.objects.get(project=demo, unique_name="baseline_arm_1")


def _invite(context, survey, event, *addresses: str) -> dict[str, Invitation]:
    people = [
        Participant.objects.create(project=survey.project, survey=survey, event=event, email=a)
        for a in addresses
    ]
    rows = invitations_compose(
        context=context,
        survey=survey,
        event=event,
        message=Message("QOL", "[survey-link]"),
        participants=people,
    ).invitations
    return {row.email.split("@")[0]: row for row in rows}


def _fresh(rows: dict[str, Invitation]) -> dict[str, Invitation]:
    for row in rows.values():
        row.refresh_from_db()
    return rows


def test_a_refused_recipient_bounces_and_a_busy_one_is_sent_on_a_later_try(
    demo, qol_survey, baseline, paula_context, server
):
    rows = _invite(
        paula_context,
        qol_survey,
        baseline,
        "gone@example.org",
        "busy@example.org",
        "spam@example.org",
        "ok@example.org",
    )

    before = timezone.now()
    report = invitations_send_due()
    after = timezone.now()

    assert report == SendReport(sent=1, failed=1, skipped=0, bounced=2)
    _fresh(rows)
    outcome = {name: (r.status, r.error, r.attempts) for name, r in rows.items()}
    assert outcome == {
        "gone": ("bounced", GONE, 0),
        "busy": ("failed", BUSY, 1),
        "spam": ("bounced", SPAM, 0),
        "ok": ("sent", "", 0),
    }
    retry_at = rows["busy"].retry_at
    assert retry_at is not None
    assert before + timedelta(minutes=5) <= retry_at <= after + timedelta(minutes=5)
    assert [r.retry_at for name, r in rows.items() if name != "busy"] == [None, None, None]
    assert server.envelopes == [["ok@example.org"]]

    # Nothing is tried before its time; then the server takes it.
    assert invitations_send_due(now=retry_at - timedelta(seconds=1)) == SendReport()
    del server.refused["busy@example.org"]
    assert invitations_send_due(now=retry_at) == SendReport(sent=1)
    _fresh(rows)
    assert (rows["busy"].status, rows["busy"].error, rows["busy"].retry_at) == ("sent", "", None)
    # A bounce is never tried again, even when everything else is long due.
    assert invitations_send_due(now=after + timedelta(days=30)) == SendReport()
    assert server.envelopes == [["ok@example.org"], ["busy@example.org"]]
    assert Invitation.objects.get(pk=rows["gone"].pk).status == "bounced"


def test_a_temporary_refusal_is_tried_again_three_times_with_longer_waits_then_fails(
    demo, qol_survey, baseline, paula_context, server
):
    row = _invite(paula_context, qol_survey, baseline, "busy@example.org")["busy"]
    waits: list[timedelta] = []
    moment: datetime | None = None
    for _try in range(4):
        before = timezone.now()
        assert invitations_send_due(now=moment) == SendReport(failed=1)
        row.refresh_from_db()
        if row.retry_at is not None:
            waits.append(row.retry_at - before)
        moment = row.retry_at

    assert (row.status, row.attempts, row.retry_at, row.error) == ("failed", 4, None, BUSY)
    assert [round(wait.total_seconds() / 60) for wait in waits] == [5, 30, 120]
    assert len(RETRY_DELAYS) == 3
    assert invitations_send_due(now=timezone.now() + timedelta(days=30)) == SendReport()
    assert server.envelopes == []


def test_a_waiting_retry_can_be_cancelled_and_a_bounced_one_resent_to_a_corrected_address(
    demo, qol_survey, baseline, paula_context, server
):
    rows = _invite(paula_context, qol_survey, baseline, "gone@example.org", "busy@example.org")
    invitations_send_due()
    _fresh(rows)

    cancelled = invitation_cancel(
        context=paula_context, project=demo, invitation_id=rows["busy"].pk
    )
    assert (cancelled.status, cancelled.retry_at) == ("cancelled", None)
    participant = rows["gone"].participant
    assert participant is not None
    participant.email = "found@example.org"
    participant.save()
    invitation_resend(context=paula_context, project=demo, invitation_id=rows["gone"].pk)

    assert invitations_send_due() == SendReport(sent=1)
    assert server.envelopes == [["found@example.org"]]


def test_a_retry_whose_response_was_completed_meanwhile_is_cancelled_not_sent(
    demo, qol_survey, baseline, paula_context, server
):
    row = _invite(paula_context, qol_survey, baseline, "busy@example.org")["busy"]
    invitations_send_due()
    row.refresh_from_db()
    row.response.status = SurveyResponse.Status.COMPLETED
    row.response.save()
    del server.refused["busy@example.org"]

    assert invitations_send_due(now=row.retry_at) == SendReport(skipped=1)

    row.refresh_from_db()
    assert (row.status, row.error, row.retry_at) == ("cancelled", COMPLETED, None)
    assert server.envelopes == []


def test_a_sent_message_carries_a_message_id_kept_with_the_invitation_and_an_html_part(
    demo, qol_survey, baseline, paula_context, server
):
    row = _invite(paula_context, qol_survey, baseline, "ok@example.org")["ok"]

    invitations_send_due()

    row.refresh_from_db()
    [message] = server.messages
    assert message["Message-ID"] == row.message_id
    assert row.message_id.startswith("<") and row.message_id.endswith("@example.ac.jp>")
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    link = f"https://edc.example.ac.jp/surveys/s/{row.response.token}/"
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    assert str(html.get_content()).replace("\r\n", "\n") == (
        '<!DOCTYPE html>\n<html lang="ja">\n<head><meta charset="utf-8"><meta name="viewport" '
        'content="width=device-width, initial-scale=1"><title>QOL</title></head>\n'
        '<body style="font-family: sans-serif; font-size: 16px; line-height: 1.5; '
        'color: #212529;">\n'
        f'<p><a href="{link}">{link}</a></p>\n</body>\n</html>\n'
    )


def test_the_log_and_the_participant_list_show_bounced_and_failed_with_the_servers_words(
    client, pi_paula, demo, qol_survey, baseline, paula_context, server
):
    rows = _invite(paula_context, qol_survey, baseline, "gone@example.org", "busy@example.org")
    invitations_send_due()
    _fresh(rows)
    client.force_login(pi_paula)

    log = client.get(reverse("surveys:invitation_log", args=[demo.pk]) + "?status=bounced")
    page = log.content.decode()
    assert page.count('data-testid="invitation-row"') == 1
    assert f'data-invitation="{rows["gone"].pk}"' in page
    assert (
        "The mail server refused this address: 550 5.1.1 &lt;gone@example.org&gt;: "
        "Recipient address rejected: User unknown"
    ) in page
    failed = client.get(reverse("surveys:invitation_log", args=[demo.pk]) + "?status=failed")
    retry = timezone.localtime(rows["busy"].retry_at).strftime("%Y-%m-%d %H:%M")
    assert f"Will be tried again at {retry} (failed tries: 1)." in failed.content.decode()
    assert "451 4.7.1 &lt;busy@example.org&gt;: Greylisted" in failed.content.decode()

    listing = client.get(
        reverse("surveys:distribution", args=[demo.pk]),
        {"survey": qol_survey.pk, "event": baseline.pk},
    ).content.decode()
    assert listing.count('data-testid="bounced-badge"') == 1
    assert f'title="{GONE.replace("<", "&lt;").replace(">", "&gt;")}"' in listing


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"5.1.1 No such user")}),
            Refusal(BOUNCED, "550 5.1.1 No such user"),
        ),
        (
            smtplib.SMTPRecipientsRefused({"a@example.org": (452, b"4.2.2 Mailbox full")}),
            Refusal(TEMPORARY, "452 4.2.2 Mailbox full"),
        ),
        (smtplib.SMTPDataError(554, b"5.7.1 Spam"), Refusal(BOUNCED, "554 5.7.1 Spam")),
        (smtplib.SMTPDataError(421, b"4.4.2 Timeout"), Refusal(TEMPORARY, "421 4.4.2 Timeout")),
        (
            smtplib.SMTPSenderRefused(553, b"5.7.1 Sender denied", "edc@example.ac.jp"),
            Refusal(PERMANENT, "553 5.7.1 Sender denied"),
        ),
        (
            smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
            Refusal(PERMANENT, "SMTPServerDisconnected: Connection unexpectedly closed"),
        ),
    ],
)
def test_the_servers_answer_decides_bounced_retried_or_failed(error, expected):
    assert refusal_of(error) == expected
