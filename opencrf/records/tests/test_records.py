from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.core.errors import InvalidInput
from opencrf.records.errors import RecordNotFound
from opencrf.records.models import Record
from opencrf.records.selectors import access_record, next_record_id, records_visible_to
from opencrf.records.services import record_create, record_delete, record_rename

from .conftest import snapshot

pytestmark = pytest.mark.django_db


def _audits(project, action):
    return list(
        AuditEvent.objects.filter(project_id=project.pk, action=action).values_list(
            "record", "changes", "reason"
        )
    )


def test_records_are_numbered_after_the_highest_number_in_natural_order(salt_rct, paula_context):
    for record_id in ("2", "10", "site-a-1"):
        record_create(context=paula_context, project=salt_rct, record_id=record_id)

    created = record_create(context=paula_context, project=salt_rct)

    assert created.record_id == "11"
    assert list(Record.objects.order_by("sort_key").values_list("record_id", flat=True)) == [
        "2",
        "10",
        "11",
        "site-a-1",
    ]
    assert _audits(salt_rct, "record.create")[-1] == (
        "11",
        {"arm": ["", "1"], "group": ["", ""]},
        "",
    )


def test_the_first_record_of_a_project_is_number_one(salt_rct):
    assert next_record_id(salt_rct) == "1"


def test_a_new_record_goes_to_arm_one_and_its_group(salt_rct, osaka_record, groups):
    arms = list(osaka_record.arms.values_list("number", flat=True))
    assert (arms, osaka_record.group) == ([1], groups["osaka_central"])
    assert _audits(salt_rct, "record.create") == [
        ("1-1", {"arm": ["", "1"], "group": ["", "osaka_central"]}, "")
    ]


@pytest.mark.parametrize(
    "record_id",
    ["1-1", "", "x" * 101, " 1-2", "1-2 ", "1\x00", "1\n2", "a\u202eb", "../2", "a\\b", "new"],
)
def test_a_duplicate_or_malformed_record_id_is_refused_and_nothing_is_created(
    salt_rct, paula_context, osaka_record, record_id
):
    before = snapshot(salt_rct)
    with pytest.raises(InvalidInput):
        record_create(context=paula_context, project=salt_rct, record_id=record_id)
    assert list(Record.objects.values_list("record_id", flat=True)) == ["1-1"]
    assert snapshot(salt_rct) == before


def test_a_grouped_member_sees_only_their_groups_records(
    salt_rct, paula_context, kyoto_bea, groups, osaka_record
):
    kyoto = record_create(
        context=paula_context, project=salt_rct, record_id="2-1", group=groups["kyoto_north"]
    )

    assert list(records_visible_to(kyoto_bea, salt_rct)) == [kyoto]
    assert access_record(kyoto_bea, salt_rct, "2-1") == kyoto
    with pytest.raises(RecordNotFound) as hidden:
        access_record(kyoto_bea, salt_rct, "1-1")
    with pytest.raises(RecordNotFound) as missing:
        access_record(kyoto_bea, salt_rct, "9-9")
    assert hidden.value.message == missing.value.message == "No such record."


def test_members_without_a_group_and_administrators_see_every_record(
    salt_rct, pi_paula, admin_ada, osaka_record
):
    assert list(records_visible_to(pi_paula, salt_rct)) == [osaka_record]
    assert list(records_visible_to(admin_ada, salt_rct)) == [osaka_record]


def test_a_user_outside_the_project_sees_no_records(salt_rct, site_b_bea, osaka_record):
    assert list(records_visible_to(site_b_bea, salt_rct)) == []


def test_renaming_a_record_audits_old_and_new_id(salt_rct, paula_context, osaka_record):
    record_rename(context=paula_context, record=osaka_record, new_id="1-9", reason="Typo")

    assert Record.objects.get().record_id == "1-9"
    assert _audits(salt_rct, "record.rename") == [("1-9", {"record_id": ["1-1", "1-9"]}, "Typo")]


def test_renaming_to_a_taken_id_is_refused_and_nothing_changes(
    salt_rct, paula_context, osaka_record
):
    record_create(context=paula_context, project=salt_rct, record_id="1-2")
    before = snapshot(salt_rct)
    with pytest.raises(InvalidInput):
        record_rename(context=paula_context, record=osaka_record, new_id="1-2")
    assert sorted(Record.objects.values_list("record_id", flat=True)) == ["1-1", "1-2"]
    assert snapshot(salt_rct) == before


def test_deleting_a_record_audits_every_old_value(salt_rct, paula_context, osaka_record, events):
    from opencrf.records.services import form_save

    form_save(
        context=paula_context,
        record=osaka_record,
        event=events["baseline_arm_1"],
        form_name="baseline",
        values={"height": "160.0", "weight": "64.0"},
        base_version=0,
    )

    record_delete(context=paula_context, record=osaka_record, reason="Entered in error")

    assert not Record.objects.exists()
    assert list(
        AuditEvent.objects.filter(action__in=["form.delete", "record.delete"]).values_list(
            "action", "event", "instrument", "changes", "reason"
        )
    ) == [
        (
            "form.delete",
            "baseline_arm_1",
            "baseline",
            {
                "bmi": ["25", ""],
                "height": ["160.0", ""],
                "weight": ["64.0", ""],
                "baseline_complete": ["0", ""],
            },
            "Entered in error",
        ),
        ("record.delete", "", "", {"record_id": ["1-1", ""]}, "Entered in error"),
    ]
