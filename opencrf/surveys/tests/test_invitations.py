"""Composing, sending, cancelling and resending survey invitations, through a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.projects.models import Event
from opencrf.records.models import Record
from opencrf.records.services import form_save
from opencrf.surveys.invitation_jobs import invitations_claim, invitations_send_due
from opencrf.surveys.invitations import (
    CANCELLED_BY_USER,
    COMPLETED,
    Message,
    invitation_cancel,
    invitation_resend,
    invitations_compose,
    response_url,
    shown_status,
    survey_participants,
)
from opencrf.surveys.models import Invitation, Participant, SurveyResponse
from opencrf.testing.smtp import Inbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def baseline(demo):
    return Event.objects.get(project=demo, unique_name="baseline_arm_1")


def _email(demo, record_id: str, address: str) -> Record:
    """Put an address in the record's baseline notes, the field these tests invite at."""
    record = Record.objects.get(project=demo, record_id=record_id)
    event = Event.objects.get(project=demo, unique_name="baseline_arm_1")
    form_save(
        context=AuditContext.system(),
        record=record,
        event=event,
        form_name="baseline",
        values={"baseline_notes": address},
        base_version=None,
        reason="test",
    )
    return record


def _body(message) -> str:
    return Inbox.body(message).replace("\r\n", "\n")


def _html(message) -> str:
    part = message.get_body(preferencelist=("html",))
    return str(part.get_content()).replace("\r\n", "\n")


def _html_body(message) -> str:
    """What the HTML part's <body> holds, without the page around it."""
    inside = _html(message).split("<body", 1)[1].split(">", 1)[1]
    return inside.split("</body>", 1)[0].strip()


def _compose(context, survey, event, *, records=(), participants=(), **message):
    message.setdefault("subject", "Your questionnaire")
    message.setdefault("body", "Please answer: [survey-link]")
    return invitations_compose(
        context=context,
        survey=survey,
        event=event,
        message=Message(**message),
        records=records,
        participants=participants,
        email_field="baseline_notes",
    )


def test_a_record_invitation_arrives_with_the_records_own_link(
    demo, qol_survey, baseline, paula_context, smtp
):
    record = _email(demo, "1-1", "p11@example.org")
    composed = _compose(
        paula_context,
        qol_survey,
        baseline,
        records=[record],
        subject="[survey-title] for [record-name]",
        body="Dear participant,\nCode [survey-access-code]\n[survey-link]",
    )

    report = invitations_send_due()

    assert (report.sent, report.failed) == (1, 0)
    [message] = smtp.to("p11@example.org")
    response = SurveyResponse.objects.get(survey=qol_survey, record=record, event=baseline)
    link = f"https://edc.example.ac.jp/surveys/s/{response.token}/"
    assert response_url(response) == link
    assert message["Subject"] == "QOL for 1-1"
    assert _body(message) == f"Dear participant,\nCode {response.access_code}\n{link}"
    [invitation] = composed.invitations
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.SENT
    assert invitation.sent_at is not None


def test_a_message_without_a_link_variable_gets_the_link_appended(
    demo, qol_survey, baseline, paula_context, smtp
):
    record = _email(demo, "1-2", "p12@example.org")
    _compose(paula_context, qol_survey, baseline, records=[record], body="Please answer.")

    invitations_send_due()

    response = SurveyResponse.objects.get(record=record, survey=qol_survey)
    body = _body(smtp.to("p12@example.org")[0])
    assert body.startswith("Please answer.\n\n")
    assert body.endswith(f"\nhttps://edc.example.ac.jp/surveys/s/{response.token}/\n")


def test_html_and_header_breaks_in_subject_body_and_values_stay_inert_text(
    demo, qol_survey, baseline, paula_context, smtp
):
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    record = _email(demo, "1-3", "p13@example.org")
    event = Event.objects.get(project=demo, unique_name="screening_arm_1")
    form_save(
        context=AuditContext.system(),
        record=record,
        event=event,
        form_name="enrolment",
        values={"inelig_reason": hostile},
        base_version=None,
        reason="test",
    )
    _compose(
        paula_context,
        qol_survey,
        baseline,
        records=[record],
        subject="<b>Hi</b>\r\nBcc: victim@example.org",
        body="<a href='https://evil.example'>x</a> [screening_arm_1][inelig_reason] [survey-url]",
    )

    invitations_send_due()

    [message] = smtp.messages
    response = SurveyResponse.objects.get(record=record, survey=qol_survey)
    link = f"https://edc.example.ac.jp/surveys/s/{response.token}/"
    assert smtp.envelopes == [["p13@example.org"]]
    assert message["Bcc"] is None
    assert message["Subject"] == "<b>Hi</b> Bcc: victim@example.org"
    assert message.get_content_type() == "multipart/alternative"
    assert _body(message) == f"<a href='https://evil.example'>x</a> {hostile} {link}"
    # In the HTML part every typed and piped character is text; only the survey link is a link.
    assert _html_body(message) == (
        "<p>&lt;a href=&#x27;https://evil.example&#x27;&gt;x&lt;/a&gt; "
        "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt; "
        f'<a href="{link}">{link}</a></p>'
    )


def test_a_participant_without_a_record_gets_a_response_of_their_own(
    demo, qol_survey, baseline, paula_context, smtp
):
    participant = Participant.objects.create(
        project=demo, survey=qol_survey, event=baseline, email="anon@example.org", language="en"
    )
    _compose(paula_context, qol_survey, baseline, participants=[participant])

    invitations_send_due()

    response = SurveyResponse.objects.get(participant=participant)
    assert (response.record, response.public, response.event) == (None, False, baseline)
    assert response.token in _body(smtp.to("anon@example.org")[0])


def test_an_invitation_scheduled_for_later_waits_until_its_time(
    demo, qol_survey, baseline, paula_context, smtp
):
    record = _email(demo, "1-1", "p11@example.org")
    later = timezone.now() + timedelta(hours=2)
    _compose(paula_context, qol_survey, baseline, records=[record], send_at=later)

    assert invitations_send_due().sent == 0
    assert invitations_send_due(now=later + timedelta(seconds=1)).sent == 1
    assert len(smtp.messages) == 1


def test_reminders_are_sent_every_n_days_and_stop_once_the_response_is_completed(
    demo, qol_survey, baseline, paula_context, smtp
):
    record = _email(demo, "1-1", "p11@example.org")
    now = timezone.now()
    composed = _compose(
        paula_context, qol_survey, baseline, records=[record], reminder_days=3, reminders=2
    )
    first, second, third = composed.invitations
    assert [i.reminder for i in composed.invitations] == [0, 1, 2]
    assert second.send_at - first.send_at == timedelta(days=3)
    assert third.send_at - first.send_at == timedelta(days=6)

    invitations_send_due(now=now + timedelta(days=3, minutes=1))  # invitation and reminder 1
    SurveyResponse.objects.filter(record=record).update(status=SurveyResponse.Status.COMPLETED)
    report = invitations_send_due(now=now + timedelta(days=6, minutes=1))

    assert (report.sent, report.skipped) == (0, 1)
    assert len(smtp.to("p11@example.org")) == 2
    third.refresh_from_db()
    assert (third.status, third.error) == (Invitation.Status.CANCELLED, COMPLETED)
    first.refresh_from_db()
    assert shown_status(first) == "responded"


def test_cancelling_a_scheduled_invitation_sends_nothing_and_is_audited(
    demo, qol_survey, baseline, paula_context, smtp
):
    record = _email(demo, "1-1", "p11@example.org")
    [invitation] = _compose(paula_context, qol_survey, baseline, records=[record]).invitations

    invitation_cancel(context=paula_context, project=demo, invitation_id=invitation.pk)
    invitations_send_due()

    invitation.refresh_from_db()
    assert (invitation.status, invitation.error) == (
        Invitation.Status.CANCELLED,
        CANCELLED_BY_USER,
    )
    assert smtp.messages == []
    assert AuditEvent.objects.filter(
        project_id=demo.pk, action="survey.invitation.cancelled", record="1-1"
    ).exists()


def test_a_sent_invitation_cannot_be_cancelled_but_can_be_resent_as_a_new_row(
    demo, qol_survey, baseline, paula_context, smtp
):
    record = _email(demo, "1-1", "p11@example.org")
    [invitation] = _compose(paula_context, qol_survey, baseline, records=[record]).invitations
    invitations_send_due()

    with pytest.raises(InvalidInput):
        invitation_cancel(context=paula_context, project=demo, invitation_id=invitation.pk)
    again = invitation_resend(context=paula_context, project=demo, invitation_id=invitation.pk)
    invitations_send_due()

    assert again.pk != invitation.pk
    assert again.response_id == invitation.response_id
    assert Invitation.objects.get(pk=again.pk).status == Invitation.Status.SENT
    assert len(smtp.to("p11@example.org")) == 2


def test_a_send_to_a_mail_server_that_is_down_is_marked_failed_with_the_error(
    demo, qol_survey, baseline, paula_context, settings
):
    record = _email(demo, "1-1", "p11@example.org")
    [invitation] = _compose(paula_context, qol_survey, baseline, records=[record]).invitations
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2

    report = invitations_send_due()

    invitation.refresh_from_db()
    assert (report.sent, report.failed) == (0, 1)
    assert invitation.status == Invitation.Status.FAILED
    assert invitation.error.startswith("ConnectionRefusedError")
    assert shown_status(invitation) == "failed"
    # A failed one can be sent again once the server is back.
    again = invitation_resend(context=paula_context, project=demo, invitation_id=invitation.pk)
    assert again.status == Invitation.Status.SCHEDULED


def test_two_claims_never_take_the_same_invitation(demo, qol_survey, baseline, paula_context):
    records = [_email(demo, f"1-{n}", f"p1{n}@example.org") for n in (1, 2, 3, 4)]
    _compose(paula_context, qol_survey, baseline, records=records)
    now = timezone.now()

    first = invitations_claim(now, limit=3)
    second = invitations_claim(now, limit=3)
    third = invitations_claim(now, limit=3)

    assert len(first) == 3
    assert len(second) == 1
    assert third == []
    assert not set(first) & set(second)


def test_the_training_instance_sends_nothing(
    demo, qol_survey, baseline, paula_context, smtp, settings
):
    settings.EMAIL_BACKEND = "opencrf.ops.instance.SuppressedEmailBackend"  # as settings.py does
    record = _email(demo, "1-1", "p11@example.org")
    _compose(paula_context, qol_survey, baseline, records=[record])

    invitations_send_due()

    assert smtp.messages == []


def test_a_record_without_an_address_is_skipped_and_named(
    demo, qol_survey, baseline, paula_context
):
    with_address = _email(demo, "1-1", "p11@example.org")
    without = _email(demo, "1-2", "not an address")

    composed = _compose(paula_context, qol_survey, baseline, records=[with_address, without])

    assert [i.email for i in composed.invitations] == ["p11@example.org"]
    assert composed.skipped == [("1-2", "no e-mail address")]


def test_another_surveys_or_projects_participant_is_refused(
    demo, qol_survey, baseline, classic_project
):
    week_24 = Event.objects.get(project=demo, unique_name="week_24_arm_1")
    elsewhere = Participant.objects.create(
        project=demo, survey=qol_survey, event=week_24, email="x@example.org"
    )
    mine = Participant.objects.create(
        project=demo, survey=qol_survey, event=baseline, email="y@example.org"
    )

    with pytest.raises(NotFound):
        survey_participants(qol_survey, baseline, [mine.pk, elsewhere.pk])
    assert survey_participants(qol_survey, baseline, [mine.pk]) == [mine]


def test_a_member_without_the_participants_right_may_not_compose(
    demo, qol_survey, baseline, site_b_bea
):
    from opencrf.projects.models import ProjectMember

    ProjectMember.objects.create(project=demo, user=site_b_bea, design=True)
    record = _email(demo, "1-1", "p11@example.org")

    with pytest.raises(PermissionDenied):
        _compose(AuditContext(actor=site_b_bea), qol_survey, baseline, records=[record])
    assert not Invitation.objects.exists()


def test_bad_message_or_no_recipient_changes_nothing(demo, qol_survey, baseline, paula_context):
    record = _email(demo, "1-1", "p11@example.org")
    for bad in (
        {"records": [record], "subject": " "},
        {"records": [record], "body": "x" * 20_001},
        {"records": [record], "reminders": 11, "reminder_days": 1},
        {"records": [record], "reminders": 1, "reminder_days": 0},
        {},
    ):
        with pytest.raises(InvalidInput):
            _compose(paula_context, qol_survey, baseline, **bad)
    assert not Invitation.objects.exists()
    assert not SurveyResponse.objects.exists()


def test_a_participants_corrected_address_is_used_when_the_invitation_is_sent(
    demo, qol_survey, baseline, paula_context, smtp
):
    participant = Participant.objects.create(
        project=demo, survey=qol_survey, event=baseline, email="typo@example.org"
    )
    [invitation] = _compose(
        paula_context, qol_survey, baseline, participants=[participant]
    ).invitations
    participant.email = "right@example.org"
    participant.save(update_fields=["email"])

    invitations_send_due()

    assert smtp.envelopes == [["right@example.org"]]
    assert Invitation.objects.get(pk=invitation.pk).email == "right@example.org"


def test_compose_refuses_a_participant_of_another_list_even_when_handed_one(
    demo, qol_survey, baseline, paula_context
):
    week_24 = Event.objects.get(project=demo, unique_name="week_24_arm_1")
    elsewhere = Participant.objects.create(
        project=demo, survey=qol_survey, event=week_24, email="x@example.org"
    )

    with pytest.raises(NotFound):
        _compose(paula_context, qol_survey, baseline, participants=[elsewhere])
    assert not Invitation.objects.exists()
