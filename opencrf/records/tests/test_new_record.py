"""A new record exists only once its first form is saved, as in REDCap.

"Add new record" leads to the first form of a record that does not exist yet; the record and
its form are created by that form's save, in one transaction. Leaving, reloading or opening the
unsaved record's home page creates nothing: no record, no audit entry.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember
from opencrf.records.models import FormData, Record
from opencrf.records.services import record_create
from opencrf.records.tests.conftest import snapshot
from opencrf.records.tests.test_views import form_url, screening_post

pytestmark = pytest.mark.django_db

NEW = "?new=1&arm=1"
AUTO = NEW + "&auto=1"


def audit_count(project):
    return AuditEvent.objects.filter(project_id=project.pk).count()


def test_add_new_record_leads_to_the_first_form_and_creates_nothing(client, pi_paula, salt_rct):
    client.force_login(pi_paula)
    before = audit_count(salt_rct)

    first = client.get(reverse("records:new", args=[salt_rct.pk]))
    again = client.get(reverse("records:new", args=[salt_rct.pk]))
    page = client.get(first["Location"])
    home = client.get(reverse("records:home", args=[salt_rct.pk, "1"]) + AUTO)
    reloaded = client.get(first["Location"])

    assert first["Location"] == again["Location"]
    assert first["Location"] == form_url(salt_rct, "1", "screening_arm_1", "screening") + AUTO
    assert (page.status_code, home.status_code, reloaded.status_code) == (200, 200, 200)
    assert 'data-testid="new-record"' in page.content.decode()
    assert 'data-testid="new-record"' in home.content.decode()
    assert 'data-testid="record-actions"' not in home.content.decode()
    link = form_url(salt_rct, "1", "screening_arm_1", "screening") + AUTO.replace("&", "&amp;")
    assert f'href="{link}"' in home.content.decode()
    assert not Record.objects.filter(project=salt_rct).exists()
    assert audit_count(salt_rct) == before


def test_saving_the_first_form_creates_the_record_and_the_form_with_their_audit(
    client, pi_paula, salt_rct
):
    client.force_login(pi_paula)
    url = client.get(reverse("records:new", args=[salt_rct.pk]))["Location"]
    page = client.get(url)

    response = client.post(url, screening_post(page, action="exit"))

    assert response.status_code == 302
    assert response["Location"] == reverse("records:home", args=[salt_rct.pk, "1"])
    record = Record.objects.get(project=salt_rct)
    form = FormData.objects.get(record=record, form_name="screening")
    assert (record.record_id, form.values["initials"], form.status) == ("1", "AN", 2)
    actions = AuditEvent.objects.filter(project_id=salt_rct.pk, record="1")
    assert sorted(actions.values_list("action", flat=True)) == ["form.update", "record.create"]


def test_a_refused_first_save_leaves_no_record_and_no_audit(client, pi_paula, salt_rct):
    client.force_login(pi_paula)
    url = client.get(reverse("records:new", args=[salt_rct.pk]))["Location"]
    page = client.get(url)
    before = snapshot(salt_rct)

    response = client.post(url, screening_post(page, dob="2004-13-45"))

    assert response.status_code == 400
    assert not Record.objects.filter(project=salt_rct).exists()
    assert snapshot(salt_rct) == before


def test_a_number_taken_meanwhile_is_skipped_and_the_user_told(
    client, pi_paula, salt_rct, paula_context
):
    client.force_login(pi_paula)
    url = client.get(reverse("records:new", args=[salt_rct.pk]))["Location"]
    page = client.get(url)
    record_create(context=paula_context, project=salt_rct)  # someone else takes "1"

    response = client.post(url, screening_post(page, action="stay"), follow=True)

    assert response.redirect_chain[-1][0] == form_url(salt_rct, "2", "screening_arm_1", "screening")
    assert FormData.objects.get(form_name="screening").record.record_id == "2"
    assert (
        "Record ID 1 was taken by someone else meanwhile: this record was saved as 2."
        in response.content.decode()
    )


def test_a_typed_id_is_checked_at_once_and_shown_as_new(client, pi_paula, salt_rct, paula_context):
    salt_rct.record_autonumbering = False
    salt_rct.save()
    record_create(context=paula_context, project=salt_rct, record_id="S-001")
    client.force_login(pi_paula)
    new = reverse("records:new", args=[salt_rct.pk])

    taken = client.get(new, {"record_id": "S-001"}, follow=True)
    spaced = client.get(new, {"record_id": " S-2"}, follow=True)
    fresh = client.get(new, {"record_id": "S-002"})

    assert "Record S-001 exists already." in taken.content.decode()
    assert "may not begin or end with a space" in spaced.content.decode()
    assert fresh["Location"] == form_url(salt_rct, "S-002", "screening_arm_1", "screening") + NEW
    assert list(Record.objects.values_list("record_id", flat=True)) == ["S-001"]


def test_a_typed_id_taken_before_the_save_is_refused_and_nothing_written(
    client, pi_paula, salt_rct, paula_context
):
    client.force_login(pi_paula)
    url = form_url(salt_rct, "S-9", "screening_arm_1", "screening") + NEW
    page = client.get(url)
    record_create(context=paula_context, project=salt_rct, record_id="S-9")
    before = snapshot(salt_rct)

    response = client.post(url, screening_post(page))

    assert response.status_code == 400
    assert "Record S-9 exists already." in response.content.decode()
    assert snapshot(salt_rct) == before


def test_a_site_users_new_record_joins_their_site_at_its_first_save(
    client, kyoto_bea, salt_rct, groups
):
    client.force_login(kyoto_bea)
    url = client.get(reverse("records:new", args=[salt_rct.pk]))["Location"]
    record_id = f"{groups['kyoto_north'].pk}-1"

    client.post(url, screening_post(client.get(url)))

    assert url == form_url(salt_rct, record_id, "screening_arm_1", "screening") + AUTO
    assert Record.objects.get(project=salt_rct).group == groups["kyoto_north"]


def test_a_new_record_needs_the_create_right_on_every_page(client, kyoto_bea, salt_rct):
    ProjectMember.objects.filter(user=kyoto_bea).update(record_create=False)
    client.force_login(kyoto_bea)
    url = form_url(salt_rct, "7-1", "screening_arm_1", "screening") + AUTO

    answers = [
        client.get(reverse("records:new", args=[salt_rct.pk])).status_code,
        client.get(url).status_code,
        client.post(url, {"initials": "AN"}).status_code,
        client.get(reverse("records:home", args=[salt_rct.pk, "7-1"]) + AUTO).status_code,
    ]

    assert answers == [403, 403, 403, 403]
    assert not Record.objects.filter(project=salt_rct).exists()


def test_two_first_saves_racing_for_one_number_both_succeed(
    pi_paula, salt_rct, paula_context, events, monkeypatch
):
    from opencrf.records import services

    record_create(context=paula_context, project=salt_rct)  # "1", saved by the faster one
    numbers = iter(["1", "2"])  # the slower one read "1" before the faster one's commit
    monkeypatch.setattr(services, "next_record_id", lambda *_args: next(numbers))
    monkeypatch.setattr(services, "_check_record_id", lambda *_args, **_kwargs: None)

    record, result = services.record_create_with_form(
        context=paula_context,
        project=salt_rct,
        record_id=None,
        arm=None,
        event=events["screening_arm_1"],
        form_name="screening",
        values={"initials": "AN"},
    )

    assert (record.record_id, result.form.values["initials"]) == ("2", "AN")
    assert sorted(Record.objects.values_list("record_id", flat=True)) == ["1", "2"]
