"""Arms, events, the instrument–event mapping and repeat settings, imported through the API."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import Event
from opencrf.records.models import FormData

pytestmark = pytest.mark.django_db


@pytest.fixture
def long_token(longitudinal_project, paula_context):
    from opencrf.api.tests.conftest import ROWS

    dictionary_apply(
        context=paula_context, project=longitudinal_project, rows=ROWS, source="upload"
    )
    return token_create(
        context=paula_context, user=paula_context.actor, project=longitudinal_project
    )


def call(token, content, **values):
    return post({"token": token, "content": content, "format": "json", **values})


def exported(token, content):
    return orjson.loads(call(token, content).content)


def test_arms_are_added_renamed_and_deleted(long_token):
    added = call(
        long_token,
        "arm",
        action="import",
        data='[{"arm_num": 1, "name": "Drug A"}, {"arm_num": "2", "name": "Placebo"}]',
    )

    assert orjson.loads(added.content) == 2
    assert exported(long_token, "arm") == [{"arm_num": 1, "name": "Drug A"}]  # arm 2 has no event
    call(long_token, "event", action="import", data='[{"event_name": "Baseline", "arm_num": 2}]')
    assert exported(long_token, "arm") == [
        {"arm_num": 1, "name": "Drug A"},
        {"arm_num": 2, "name": "Placebo"},
    ]
    deleted = call(long_token, "arm", action="delete", **{"arms[0]": "2"})
    assert orjson.loads(deleted.content) == 1
    assert exported(long_token, "arm") == [{"arm_num": 1, "name": "Drug A"}]


def test_events_keep_given_unique_names_and_update_by_them(long_token, longitudinal_project):
    data = [
        {"event_name": "Screening", "arm_num": 1, "unique_event_name": "screening_arm_1"},
        {"event_name": "Week 4", "arm_num": 1, "custom_event_label": "[visit_date]"},
    ]

    response = call(long_token, "event", action="import", data=orjson.dumps(data).decode())
    renamed = call(
        long_token,
        "event",
        action="import",
        data=orjson.dumps(
            [{"event_name": "Renamed", "arm_num": 1, "unique_event_name": "week_4_arm_1"}]
        ).decode(),
    )

    assert (orjson.loads(response.content), orjson.loads(renamed.content)) == (2, 1)
    events = exported(long_token, "event")
    assert [(e["event_name"], e["unique_event_name"]) for e in events] == [
        ("Event 1", "event_1_arm_1"),
        ("Screening", "screening_arm_1"),
        ("Renamed", "week_4_arm_1"),
    ]
    assert all(isinstance(e["event_id"], int) and isinstance(e["arm_num"], int) for e in events)


def test_the_mapping_import_replaces_the_whole_mapping(long_token):
    call(long_token, "event", action="import", data='[{"event_name": "Week 4", "arm_num": 1}]')

    response = call(
        long_token,
        "formEventMapping",
        action="import",
        data=orjson.dumps(
            [
                {"arm_num": 1, "unique_event_name": "event_1_arm_1", "form": "enrolment"},
                {"arm_num": "1", "unique_event_name": "week_4_arm_1", "form": "adverse_event"},
            ]
        ).decode(),
    )

    assert orjson.loads(response.content) == 2
    assert exported(long_token, "formEventMapping") == [
        {"arm_num": 1, "unique_event_name": "event_1_arm_1", "form": "enrolment"},
        {"arm_num": 1, "unique_event_name": "week_4_arm_1", "form": "adverse_event"},
    ]


def test_repeat_settings_round_trip_through_export_and_import(long_token):
    call(
        long_token,
        "formEventMapping",
        action="import",
        data=orjson.dumps(
            [
                {"arm_num": 1, "unique_event_name": "event_1_arm_1", "form": "enrolment"},
                {"arm_num": 1, "unique_event_name": "event_1_arm_1", "form": "adverse_event"},
            ]
        ).decode(),
    )
    settings = [
        {
            "event_name": "event_1_arm_1",
            "form_name": "adverse_event",
            "custom_form_label": "[ae_term]",
        }
    ]

    imported = call(long_token, "repeatingFormsEvents", data=orjson.dumps(settings).decode())
    as_csv = post({"token": long_token, "content": "repeatingFormsEvents", "format": "csv"})
    again = post(
        {
            "token": long_token,
            "content": "repeatingFormsEvents",
            "format": "csv",
            "data": as_csv.content.decode(),
        }
    )

    assert orjson.loads(imported.content) == 1
    assert exported(long_token, "repeatingFormsEvents") == settings
    assert again.content == b"1"


def test_an_event_of_another_arm_number_is_refused_and_nothing_changes(long_token):
    before = list(Event.objects.values_list("unique_name", flat=True))

    response = call(
        long_token,
        "event",
        action="import",
        data='[{"event_name": "Ok", "arm_num": 1}, {"event_name": "X", "arm_num": 9}]',
    )

    assert response.status_code == 400
    assert orjson.loads(response.content) == {"error": "The arm '9' does not exist."}
    assert list(Event.objects.values_list("unique_name", flat=True)) == before
    assert not FormData.objects.exists()
