"""Deleting a form's data, deleting a record and renaming it, from the pages that ask first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.records.models import FormData, Record
from opencrf.records.services import form_save

from .conftest import snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def screened(paula_context, osaka_record, events):
    form_save(
        context=paula_context,
        record=osaka_record,
        event=events["screening_arm_1"],
        form_name="screening",
        values={"initials": "AN"},
        base_version=None,
    )
    return osaka_record


def form_delete_url(project, record_id="1-1"):
    args = [project.pk, record_id, "screening_arm_1", "screening", 1]
    return reverse("records:form_delete", args=args)


def test_the_form_page_links_to_deleting_its_data(client, pi_paula, salt_rct, screened):
    client.force_login(pi_paula)
    url = reverse("records:form", args=[salt_rct.pk, "1-1", "screening_arm_1", "screening", 1])

    html = client.get(url).content.decode()

    assert f'href="{form_delete_url(salt_rct)}" data-testid="form-delete"' in html


def test_deleting_form_data_asks_first_and_changes_nothing(client, pi_paula, salt_rct, screened):
    client.force_login(pi_paula)
    before = snapshot(salt_rct)

    response = client.get(form_delete_url(salt_rct))

    assert response.status_code == 200
    assert 'data-testid="delete-question"' in response.content.decode()
    assert snapshot(salt_rct) == before


def test_deleting_form_data_deletes_it_with_the_reason(client, pi_paula, salt_rct, screened):
    client.force_login(pi_paula)

    response = client.post(form_delete_url(salt_rct), {"reason": "Wrong participant"})

    assert response.status_code == 302
    assert response["Location"] == reverse("records:home", args=[salt_rct.pk, "1-1"])
    assert not FormData.objects.exists()
    deleted = AuditEvent.objects.get(action="form.delete")
    assert (deleted.record, deleted.instrument, deleted.reason) == (
        "1-1",
        "screening",
        "Wrong participant",
    )


def test_deleting_a_form_without_data_is_not_found(client, pi_paula, salt_rct, osaka_record):
    client.force_login(pi_paula)

    assert client.post(form_delete_url(salt_rct)).status_code == 404


def test_another_group_cannot_delete_a_form(client, kyoto_bea, salt_rct, screened):
    client.force_login(kyoto_bea)
    before = snapshot(salt_rct)

    assert client.post(form_delete_url(salt_rct)).status_code == 404
    assert snapshot(salt_rct) == before


def test_deleting_a_record_asks_then_deletes_it_and_its_forms(client, pi_paula, salt_rct, screened):
    client.force_login(pi_paula)
    url = reverse("records:delete", args=[salt_rct.pk, "1-1"])
    home = client.get(reverse("records:home", args=[salt_rct.pk, "1-1"])).content.decode()
    assert f'href="{url}"' in home
    assert client.get(url).status_code == 200
    assert Record.objects.filter(record_id="1-1").exists()

    response = client.post(url, {"reason": "Duplicate"})

    assert response["Location"] == reverse("records:dashboard", args=[salt_rct.pk])
    assert not Record.objects.filter(project=salt_rct).exists()
    assert list(
        AuditEvent.objects.filter(action__in=["form.delete", "record.delete"]).values_list(
            "action", "reason"
        )
    ) == [("form.delete", "Duplicate"), ("record.delete", "Duplicate")]


def test_another_group_cannot_delete_a_record(client, kyoto_bea, salt_rct, screened):
    client.force_login(kyoto_bea)

    response = client.post(reverse("records:delete", args=[salt_rct.pk, "1-1"]))

    assert response.status_code == 404
    assert Record.objects.filter(record_id="1-1").exists()


def test_renaming_a_record_keeps_its_forms(client, pi_paula, salt_rct, screened):
    client.force_login(pi_paula)
    url = reverse("records:rename", args=[salt_rct.pk, "1-1"])
    home = client.get(reverse("records:home", args=[salt_rct.pk, "1-1"])).content.decode()
    assert f'href="{url}"' in home
    assert 'value="1-1"' in client.get(url).content.decode()

    response = client.post(url, {"new_id": "1-9", "reason": "Typo"})

    assert response["Location"] == reverse("records:home", args=[salt_rct.pk, "1-9"])
    record = Record.objects.get(project=salt_rct)
    assert (record.record_id, record.forms.count()) == ("1-9", 1)
    renamed = AuditEvent.objects.get(action="record.rename")
    assert (renamed.changes, renamed.reason) == ({"record_id": ["1-1", "1-9"]}, "Typo")


def test_renaming_to_a_taken_id_is_refused_and_shown(
    client, pi_paula, salt_rct, screened, paula_context
):
    from opencrf.records.services import record_create

    record_create(context=paula_context, project=salt_rct, record_id="2-1")
    client.force_login(pi_paula)
    before = snapshot(salt_rct)

    response = client.post(reverse("records:rename", args=[salt_rct.pk, "1-1"]), {"new_id": "2-1"})

    assert response.status_code == 400
    assert "Record 2-1 exists already." in response.content.decode()
    assert snapshot(salt_rct) == before
    assert set(Record.objects.values_list("record_id", flat=True)) == {"1-1", "2-1"}
