"""The invitation pages: compose, the log (filters, cancel, resend) and automated invitations."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from opencrf.audit.services import AuditContext
from opencrf.projects.models import DataAccessGroup, Event, ProjectMember
from opencrf.records.models import Record
from opencrf.records.services import form_save
from opencrf.surveys.invitation_jobs import invitations_send_due
from opencrf.surveys.models import AutoInvitation, Invitation, Participant

pytestmark = pytest.mark.django_db
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def baseline(demo):
    return Event.objects.get(project=demo, unique_name="baseline_arm_1")


@pytest.fixture
def paula(client, pi_paula):
    client.force_login(pi_paula)
    return client


def _email(demo, record_id, address):
    record = Record.objects.get(project=demo, record_id=record_id)
    form_save(
        context=AuditContext.system(),
        record=record,
        event=Event.objects.get(project=demo, unique_name="baseline_arm_1"),
        form_name="baseline",
        values={"baseline_notes": address},
        base_version=None,
        reason="test",
    )
    return record


def _compose_url(demo, survey, event):
    return reverse("surveys:invitation_compose", args=[demo.pk, survey.pk, event.pk])


def _post(client, demo, survey, event, **changes):
    data = {
        "records": "",
        "email_field": "baseline_notes",
        "subject": "QOL",
        "body": "Answer [survey-link]",
        "when": "now",
        "send_at": "",
        "reminder_days": "0",
        "reminders": "0",
    }
    data.update(changes)
    return client.post(_compose_url(demo, survey, event), data)


def test_compose_schedules_for_chosen_participants_and_records_and_shows_them_in_the_log(
    demo, qol_survey, baseline, paula
):
    _email(demo, "1-1", "p11@example.org")
    person = Participant.objects.create(
        project=demo,
        survey=qol_survey,
        event=baseline,
        email="anon@example.org",
        identifier=HOSTILE,
    )
    page = paula.get(_compose_url(demo, qol_survey, baseline))
    assert page.status_code == 200
    assert "anon@example.org" in page.content.decode()

    response = _post(paula, demo, qol_survey, baseline, participants=[person.pk], records="1-1")

    assert response.status_code == 302
    emails = sorted(Invitation.objects.values_list("email", flat=True))
    assert emails == ["anon@example.org", "p11@example.org"]
    log = paula.get(reverse("surveys:invitation_log", args=[demo.pk])).content.decode()
    assert log.count('data-testid="invitation-row"') == 2
    assert HOSTILE not in log
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in log


def test_a_record_the_user_cannot_see_or_that_is_missing_is_refused_and_nothing_scheduled(
    demo, qol_survey, baseline, paula
):
    _email(demo, "1-1", "p11@example.org")

    response = _post(paula, demo, qol_survey, baseline, records="1-1, no-such-record")

    assert response.status_code == 200
    assert "No such record: no-such-record." in response.content.decode()
    assert not Invitation.objects.exists()


def test_another_projects_participant_id_is_refused(
    demo, qol_survey, baseline, paula, classic_project
):
    week_24 = Event.objects.get(project=demo, unique_name="week_24_arm_1")
    other = Participant.objects.create(
        project=demo, survey=qol_survey, event=week_24, email="x@example.org"
    )

    response = _post(paula, demo, qol_survey, baseline, participants=[other.pk])

    assert response.status_code == 200
    assert not Invitation.objects.exists()


def test_cancel_and_resend_from_the_log(demo, qol_survey, baseline, paula, smtp):
    _email(demo, "1-1", "p11@example.org")
    _email(demo, "1-2", "p12@example.org")
    _post(paula, demo, qol_survey, baseline, records="1-1 1-2")
    first, second = Invitation.objects.order_by("pk")

    paula.post(reverse("surveys:invitation_cancel", args=[demo.pk, first.pk]), {"filters": ""})
    invitations_send_due()
    paula.post(reverse("surveys:invitation_resend", args=[demo.pk, second.pk]), {"filters": ""})
    invitations_send_due()

    statuses = list(Invitation.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["cancelled", "sent", "sent"]
    assert len(smtp.to("p12@example.org")) == 2
    log = paula.get(reverse("surveys:invitation_log", args=[demo.pk]) + "?status=cancelled")
    assert log.content.decode().count('data-testid="invitation-row"') == 1


def test_a_failed_send_shows_its_error_on_the_log(demo, qol_survey, baseline, paula, settings):
    _email(demo, "1-1", "p11@example.org")
    _post(paula, demo, qol_survey, baseline, records="1-1")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    invitations_send_due()

    log = paula.get(reverse("surveys:invitation_log", args=[demo.pk]) + "?status=failed")

    body = log.content.decode()
    assert 'data-status="failed"' in body
    assert "ConnectionRefusedError" in body


def test_a_member_without_the_participants_right_is_refused(
    demo, qol_survey, baseline, client, site_b_bea
):
    ProjectMember.objects.create(project=demo, user=site_b_bea, design=True)
    client.force_login(site_b_bea)

    assert client.get(_compose_url(demo, qol_survey, baseline)).status_code == 403
    assert client.get(reverse("surveys:invitation_log", args=[demo.pk])).status_code == 403
    assert _post(client, demo, qol_survey, baseline, records="1-1").status_code == 403
    assert not Invitation.objects.exists()


def test_a_site_member_sees_and_acts_on_only_their_sites_invitations(
    demo, qol_survey, baseline, paula, client, site_b_bea
):
    _email(demo, "1-1", "p11@example.org")  # site 1
    _email(demo, "2-1", "p21@example.org")  # site 2
    _post(paula, demo, qol_survey, baseline, records="1-1 2-1")
    group = DataAccessGroup.objects.get(project=demo, unique_name="hokurei_med")
    ProjectMember.objects.create(
        project=demo, user=site_b_bea, group=group, survey_participants=True
    )
    client.force_login(site_b_bea)
    theirs = Invitation.objects.get(email="p11@example.org")

    log = client.get(reverse("surveys:invitation_log", args=[demo.pk])).content.decode()
    refused = client.post(reverse("surveys:invitation_cancel", args=[demo.pk, theirs.pk]))

    assert "p21@example.org" in log
    assert "p11@example.org" not in log
    assert refused.status_code == 404
    assert Invitation.objects.get(pk=theirs.pk).status == "scheduled"


def test_an_automated_invitation_is_set_up_from_its_page(demo, qol_survey, paula):
    week_24 = Event.objects.get(project=demo, unique_name="week_24_arm_1")
    url = reverse("surveys:auto_invitation", args=[demo.pk, qol_survey.pk, week_24.pk])
    assert paula.get(reverse("surveys:auto_invitations", args=[demo.pk])).status_code == 200
    assert paula.get(url).status_code == 200

    response = paula.post(
        url,
        {
            "active": "on",
            "condition_logic": "[baseline_arm_1][hba1c] >= 9",
            "email_field": "baseline_notes",
            "subject": "Week 24",
            "body": "[survey-link]",
            "delay_days": "1",
            "delay_minutes": "0",
            "send_time": "09:30",
            "reminder_every_days": "3",
            "reminder_count": "2",
        },
    )

    assert response.status_code == 302
    asi = AutoInvitation.objects.get()
    assert (asi.event, asi.delay_days, str(asi.send_time), asi.reminder_count) == (
        week_24,
        1,
        "09:30:00",
        2,
    )


def test_an_automated_invitation_with_bad_logic_is_refused_on_its_page(demo, qol_survey, paula):
    week_24 = Event.objects.get(project=demo, unique_name="week_24_arm_1")
    url = reverse("surveys:auto_invitation", args=[demo.pk, qol_survey.pk, week_24.pk])

    response = paula.post(
        url,
        {
            "active": "on",
            "condition_logic": "[hba1c] >>= 9",
            "email_field": "baseline_notes",
            "subject": "x",
            "body": "y",
            "delay_days": "0",
            "delay_minutes": "0",
            "reminder_every_days": "0",
            "reminder_count": "0",
        },
    )

    assert response.status_code == 200
    assert "The condition is not valid logic" in response.content.decode()
    assert not AutoInvitation.objects.exists()


def test_the_log_reads_a_page_in_as_many_queries_whatever_its_length(
    demo, qol_survey, baseline, paula
):
    for record_id in ("1-1", "1-2", "1-3", "1-4"):
        _email(demo, record_id, f"{record_id}@example.org")
    log = reverse("surveys:invitation_log", args=[demo.pk])
    _post(paula, demo, qol_survey, baseline, records="1-1")
    paula.get(log)  # warm the per-process design cache
    counts = []
    for records in ("1-2", "1-3 1-4"):
        _post(paula, demo, qol_survey, baseline, records=records)
        with CaptureQueriesContext(connection) as captured:
            assert paula.get(log).status_code == 200
        counts.append(len(captured))

    assert counts[0] == counts[1]
