"""Another site's history stays hidden when its record id is reused, renamed or has files.

Osaka's record 7 holds the initials QZXJ and the file osaka-secret.txt; after it is deleted (or
renamed), Kyoto's Bea creates her own record 7. Nothing of Osaka's may reach Bea: not the
logging page, its CSV, the API's `log` (with or without `record=7`), nor the field history.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.services import AuditContext, AuditTarget, audit_event_create
from opencrf.files.repository import document_add, folder_create
from opencrf.projects.models import ProjectMember
from opencrf.projects.rights_services import role_create
from opencrf.records.services import form_save, record_create, record_delete, record_rename

pytestmark = pytest.mark.django_db

SECRETS = ("QZXJ", "osaka-secret")


@pytest.fixture
def paula_token(salt_rct, paula_context, pi_paula):
    return token_create(context=paula_context, user=pi_paula, project=salt_rct)


@pytest.fixture
def osaka_7(salt_rct, paula_context, paula_token, groups, events):
    """Osaka's record 7, its initials QZXJ and an ECG file uploaded through the API."""
    record = record_create(
        context=paula_context, project=salt_rct, record_id="7", group=groups["osaka_central"]
    )
    _initials(paula_context, record, events, "QZXJ")
    uploaded = post(
        {
            "token": paula_token,
            "content": "file",
            "action": "import",
            "record": "7",
            "field": "ecg_image",
            "event": "week_4_arm_1",
            "file": SimpleUploadedFile("osaka-secret.txt", b"not for Kyoto\n"),
        }
    )
    assert (uploaded.status_code, uploaded.content) == (200, b"")
    return record


@pytest.fixture
def bea_token(salt_rct, paula_context, kyoto_bea):
    ProjectMember.objects.filter(project=salt_rct, user=kyoto_bea).update(api_export=True)
    return token_create(context=paula_context, user=kyoto_bea, project=salt_rct)


def _initials(context, record, events, initials):
    form_save(
        context=context,
        record=record,
        event=events["screening_arm_1"],
        form_name="screening",
        values={"initials": initials},
        base_version=None,
    )


def _beas_record_7(salt_rct, kyoto_bea, events):
    bea = AuditContext(actor=kyoto_bea)
    _initials(bea, record_create(context=bea, project=salt_rct, record_id="7"), events, "BKWV")


def _everything_seen(client, user, project, token):
    """The text of every history view `user` has of the project: page, CSV, API, field."""
    client.force_login(user)
    logging = reverse("projects:logging", args=[project.pk])
    export = reverse("projects:logging_export", args=[project.pk])
    history = reverse(
        "records:field_history",
        args=[project.pk, "7", "screening_arm_1", "screening", 1, "initials"],
    )
    views = {
        "page": client.get(logging).content,
        "page for record 7": client.get(logging, {"record": "7"}).content,
        "csv": b"".join(client.get(export).streaming_content),
        "csv for record 7": b"".join(client.get(export, {"record": "7"}).streaming_content),
        "api": post({"token": token, "content": "log", "format": "csv"}).content,
        "api for record 7": post(
            {"token": token, "content": "log", "format": "csv", "record": "7"}
        ).content,
        "field history": client.get(history).content,
    }
    return {name: body.decode() for name, body in views.items()}


def _leaks(seen):
    return {
        name: [s for s in SECRETS if s in text]
        for name, text in seen.items()
        if any(s in text for s in SECRETS)
    }


def test_a_reused_id_shows_nothing_of_the_deleted_records_history(
    client, salt_rct, paula_context, osaka_7, kyoto_bea, bea_token, events
):
    record_delete(context=paula_context, record=osaka_7)
    _beas_record_7(salt_rct, kyoto_bea, events)

    seen = _everything_seen(client, kyoto_bea, salt_rct, bea_token)

    assert _leaks(seen) == {}
    assert all("BKWV" in text for text in seen.values())


def test_a_renamed_records_old_id_shows_nothing_of_its_history(
    client, salt_rct, paula_context, osaka_7, kyoto_bea, bea_token, events
):
    record_rename(context=paula_context, record=osaka_7, new_id="8")
    _beas_record_7(salt_rct, kyoto_bea, events)

    seen = _everything_seen(client, kyoto_bea, salt_rct, bea_token)

    assert _leaks(seen) == {}
    assert all("BKWV" in text for text in seen.values())


def test_a_member_who_sees_every_group_still_sees_everything(
    client, salt_rct, paula_context, pi_paula, paula_token, osaka_7, kyoto_bea, events
):
    record_rename(context=paula_context, record=osaka_7, new_id="8")
    _beas_record_7(salt_rct, kyoto_bea, events)

    seen = _everything_seen(client, pi_paula, salt_rct, paula_token)

    logs = {name: text for name, text in seen.items() if name != "field history"}
    assert all("QZXJ" in text and "osaka-secret" in text for text in logs.values())
    assert "BKWV" in seen["field history"]
    assert "QZXJ" not in seen["field history"]  # record 7 is Bea's record; QZXJ was record 8's


def test_another_groups_repository_files_stay_out_of_the_log(
    client, salt_rct, paula_context, kyoto_bea, bea_token, groups
):
    osaka = folder_create(
        context=paula_context, project=salt_rct, name="osaka-secret", group=groups["osaka_central"]
    )
    upload = SimpleUploadedFile("osaka-secret-minutes.txt", b"minutes\n")
    document_add(context=paula_context, project=salt_rct, upload=upload, folder=osaka)
    shared = SimpleUploadedFile("shared-protocol.txt", b"protocol\n")
    document_add(context=paula_context, project=salt_rct, upload=shared)
    client.force_login(kyoto_bea)

    page = client.get(reverse("projects:logging", args=[salt_rct.pk])).content.decode()
    api = post({"token": bea_token, "content": "log", "format": "csv"}).content.decode()

    assert ("osaka-secret" in page, "osaka-secret" in api) == (False, False)
    assert ("shared-protocol" in page, "shared-protocol" in api) == (True, True)


def test_entries_written_before_record_keys_are_shown_only_to_members_in_no_group(
    client, salt_rct, paula_context, pi_paula, kyoto_bea, events
):
    """An entry without a record key (from an earlier version) may be another site's."""
    bea = AuditContext(actor=kyoto_bea)
    record_create(context=bea, project=salt_rct, record_id="7")
    with transaction.atomic():
        audit_event_create(
            context=paula_context,
            project_id=salt_rct.pk,
            action="form.update",
            target=AuditTarget(record="7", event="screening_arm_1", instrument="screening"),
            changes={"initials": ["", "QZXJ"]},
        )
    logging = reverse("projects:logging", args=[salt_rct.pk])

    client.force_login(kyoto_bea)
    seen_by_bea = client.get(logging).content.decode()
    client.force_login(pi_paula)
    seen_by_paula = client.get(logging).content.decode()

    assert ("QZXJ" in seen_by_bea, "QZXJ" in seen_by_paula) == (False, True)


def test_a_role_folders_files_stay_out_of_the_log_of_members_without_the_role(
    client, salt_rct, paula_context, kyoto_bea, admin_ada
):
    monitors = role_create(context=paula_context, project=salt_rct, name="Monitors")
    folder = folder_create(
        context=paula_context, project=salt_rct, name="Monitoring", role=monitors
    )
    upload = SimpleUploadedFile("monitor-only-plan.txt", b"plan\n")
    document_add(context=paula_context, project=salt_rct, upload=upload, folder=folder)
    logging = reverse("projects:logging", args=[salt_rct.pk])

    client.force_login(kyoto_bea)
    seen_by_bea = client.get(logging).content.decode()
    client.force_login(admin_ada)
    seen_by_ada = client.get(logging).content.decode()

    assert ("monitor-only-plan" in seen_by_bea, "monitor-only-plan" in seen_by_ada) == (False, True)
