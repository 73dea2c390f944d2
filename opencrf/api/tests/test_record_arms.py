"""Records in several arms through the API: `arm` on delete takes a record out of one arm only."""

from __future__ import annotations

import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.models import AuditEvent
from opencrf.records.models import FormData, Record
from opencrf.records.tests.test_arms import arms_of, events_of, three_arms  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def arms_token(three_arms, pi_paula, paula_context):  # noqa: F811
    return token_create(context=paula_context, user=pi_paula, project=three_arms)


def delete(token, records, arm=None):
    data = {"token": token, "content": "record", "action": "delete"}
    data.update({f"records[{n}]": record for n, record in enumerate(records)})
    if arm is not None:
        data["arm"] = str(arm)
    return post(data)


def test_deleting_in_one_arm_keeps_the_record_and_its_data_in_the_others(
    arms_token,
    three_arms,  # noqa: F811
):
    response = delete(arms_token, ["101", "102"], arm=2)

    assert (response.status_code, response.content) == (200, b"1")  # 102 is not in arm 2
    assert arms_of(three_arms, "101") == [1, 3]
    assert events_of(three_arms, "101") == ["event_1_arm_1", "event_1_arm_3"]
    assert arms_of(three_arms, "102") == [1, 3]
    assert events_of(three_arms, "102") == ["event_1_arm_1", "event_1_arm_3"]
    entry = AuditEvent.objects.filter(project_id=three_arms.pk, action="record.arm").latest(
        "sequence"
    )
    assert (entry.record, entry.changes, entry.source) == (
        "101",
        {"arms": ["1, 2, 3", "1, 3"]},
        "api",
    )


def test_deleting_a_record_in_its_last_arm_deletes_the_record(
    arms_token,
    three_arms,  # noqa: F811
):
    first = delete(arms_token, ["102"], arm=1)
    last = delete(arms_token, ["102"], arm=3)

    assert (first.content, last.content) == (b"1", b"1")
    assert not Record.objects.filter(project=three_arms, record_id="102").exists()
    assert not FormData.objects.filter(record__project=three_arms, record__record_id="102")


def test_deleting_without_an_arm_deletes_the_record_from_every_arm(
    arms_token,
    three_arms,  # noqa: F811
):
    response = delete(arms_token, ["101"])

    assert response.content == b"1"
    assert not Record.objects.filter(project=three_arms, record_id="101").exists()


def test_an_import_for_another_arms_event_puts_the_record_in_that_arm(
    arms_token,
    three_arms,  # noqa: F811
):
    response = post(
        {
            "token": arms_token,
            "content": "record",
            "format": "csv",
            "data": "record_id,redcap_event_name,position\n102,event_1_arm_2,c\n",
        }
    )

    assert response.content == b"1"
    assert arms_of(three_arms, "102") == [1, 2, 3]
    exported = post(
        {"token": arms_token, "content": "record", "format": "csv", "records[0]": "102"}
    )
    lines = exported.content.decode().splitlines()
    assert [line.split(",")[1] for line in lines[1:]] == [
        "event_1_arm_1",
        "event_1_arm_2",
        "event_1_arm_3",
    ]
