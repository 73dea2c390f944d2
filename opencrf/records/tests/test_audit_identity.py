"""Audit entries carry the record's identity, and a taken id is refused without naming a site."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.files.services import file_delete, file_store
from opencrf.projects.models import ProjectMember
from opencrf.records.auditing import record_target
from opencrf.records.imports import ImportRefused, records_import
from opencrf.records.models import Record
from opencrf.records.services import form_save, record_create, record_delete, record_rename
from opencrf.records.tests.conftest import snapshot

pytestmark = pytest.mark.django_db

NOT_AVAILABLE = "Record ID {} is not available."


def identities(project, record_id):
    entries = AuditEvent.objects.filter(project_id=project.pk, record=record_id)
    return [(e.action, e.record_key, e.group_id) for e in entries.order_by("sequence")]


def test_every_entry_of_a_record_names_its_key_and_its_group(
    salt_rct, paula_context, osaka_record, events, groups
):
    form_save(
        context=paula_context,
        record=osaka_record,
        event=events["screening_arm_1"],
        form_name="screening",
        values={"initials": "AN"},
        base_version=None,
    )
    record_rename(context=paula_context, record=osaka_record, new_id="1-2")

    key, osaka = osaka_record.pk, groups["osaka_central"].pk
    assert identities(salt_rct, "1-1") == [
        ("record.create", key, osaka),
        ("form.update", key, osaka),
    ]
    assert identities(salt_rct, "1-2") == [("record.rename", key, osaka)]


def test_an_imported_record_names_its_new_key_and_its_group(salt_rct, kyoto_bea, groups):
    records_import(
        context=AuditContext(actor=kyoto_bea),
        project=salt_rct,
        rows=[{"study_id": "2-9", "redcap_event_name": "screening_arm_1", "initials": "BK"}],
    )

    key = Record.objects.get(project=salt_rct, record_id="2-9").pk
    kyoto = groups["kyoto_north"].pk
    assert identities(salt_rct, "2-9") == [
        ("record.create", key, kyoto),
        ("form.update", key, kyoto),
    ]


def test_a_record_made_again_after_a_delete_has_a_new_key(salt_rct, paula_context, osaka_record):
    first = osaka_record.pk
    record_delete(context=paula_context, record=osaka_record)
    again = record_create(context=paula_context, project=salt_rct, record_id="1-1")

    keys = {key for _action, key, _group in identities(salt_rct, "1-1")}
    assert again.pk != first
    assert keys == {first, again.pk}


def test_importing_another_sites_id_reads_as_importing_an_own_taken_id(
    salt_rct, kyoto_bea, osaka_record
):
    """The one refusal a grouped member gets for any id they may not take, names no site."""
    before = snapshot(salt_rct)
    bea = AuditContext(actor=kyoto_bea)
    row = {"study_id": "1-1", "redcap_event_name": "screening_arm_1", "initials": "BK"}

    with pytest.raises(ImportRefused) as refused:
        records_import(context=bea, project=salt_rct, rows=[row])

    assert [p.message for p in refused.value.problems] == [NOT_AVAILABLE.format("1-1")]
    assert snapshot(salt_rct) == before
    own = record_create(context=bea, project=salt_rct, record_id="2-5")
    with pytest.raises(InvalidInput) as refused_own:
        record_create(context=bea, project=salt_rct, record_id="2-5")
    with pytest.raises(InvalidInput) as refused_rename:
        record_rename(context=bea, record=own, new_id="1-1")
    assert str(refused_own.value) == NOT_AVAILABLE.format("2-5")
    assert str(refused_rename.value) == NOT_AVAILABLE.format("1-1")


def test_a_member_without_a_group_is_told_the_id_exists(salt_rct, paula_context, osaka_record):
    with pytest.raises(InvalidInput) as refused:
        record_create(context=paula_context, project=salt_rct, record_id="1-1")

    assert str(refused.value) == "Record 1-1 exists already."


def test_the_api_refuses_another_sites_id_in_the_neutral_words_and_writes_nothing(
    salt_rct, paula_context, kyoto_bea, osaka_record
):
    ProjectMember.objects.filter(project=salt_rct, user=kyoto_bea).update(
        api_export=True, api_import=True
    )
    token = token_create(context=paula_context, user=kyoto_bea, project=salt_rct)
    before = snapshot(salt_rct)

    answer = post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "data": "study_id,redcap_event_name,initials\n1-1,screening_arm_1,BK\n",
        }
    )

    refusal = 'ERROR: "","","","Record ID 1-1 is not available."'
    assert (answer.status_code, answer.content.decode()) == (400, refusal)
    assert snapshot(salt_rct) == before


def test_a_files_entries_belong_to_its_record_or_else_to_its_uploaders_group(
    salt_rct, paula_context, kyoto_bea, osaka_record, groups, events
):
    target = record_target(osaka_record, events["week_4_arm_1"], "visit", 1)
    for_record = file_store(
        context=paula_context, project=salt_rct, upload=ContentFile(b"a\n", "a.txt"), target=target
    )
    bea = AuditContext(actor=kyoto_bea)
    unattached = file_store(context=bea, project=salt_rct, upload=ContentFile(b"b\n", "b.txt"))
    file_delete(context=paula_context, stored_file=for_record)
    file_delete(context=bea, stored_file=unattached)

    entries = AuditEvent.objects.filter(project_id=salt_rct.pk, action__startswith="file.")
    osaka, kyoto = groups["osaka_central"].pk, groups["kyoto_north"].pk
    assert [(e.action, e.record, e.record_key, e.group_id) for e in entries] == [
        ("file.store", "1-1", osaka_record.pk, osaka),
        ("file.store", "", None, kyoto),
        ("file.delete", "1-1", osaka_record.pk, osaka),
        ("file.delete", "", None, kyoto),
    ]
