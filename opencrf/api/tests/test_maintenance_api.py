"""During maintenance the API still answers reads and refuses every write, changing nothing."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.ops.maintenance import maintenance_start, maintenance_stop
from opencrf.records.models import Record

pytestmark = pytest.mark.django_db

REFUSAL = "maintenance mode"


@pytest.fixture
def maintenance():
    maintenance_start(by="ops_olga", message="Upgrade until 18:00.")
    yield
    maintenance_stop(by="ops_olga")


def test_reads_go_on_during_maintenance(token, maintenance):
    response = post({"token": token, "content": "record", "format": "json"})

    assert (response.status_code, orjson.loads(response.content)) == (200, [])


@pytest.mark.parametrize(
    "call",
    [
        {"content": "record", "data": '[{"study_id": "1"}]'},
        {"content": "record", "action": "delete", "records[0]": "1"},
        {"content": "record", "action": "rename", "record": "1", "new_record_name": "2"},
        {"content": "dag", "action": "switch", "dag": ""},
        {"content": "fileRepository", "action": "createFolder", "name": "x"},
        {"content": "project_settings", "data": '{"project_title": "x"}'},
    ],
)
def test_every_write_is_refused_with_the_operators_message(token, study, maintenance, call):
    response = post({"token": token, "format": "json", **call})

    assert response.status_code == 503
    error = orjson.loads(response.content)["error"]
    assert REFUSAL in error and "Upgrade until 18:00." in error
    assert not Record.objects.filter(project=study).exists()


def test_writes_are_accepted_again_after_maintenance(token, study):
    maintenance_start(by="ops_olga")
    maintenance_stop(by="ops_olga")

    response = post(
        {"token": token, "content": "record", "format": "json", "data": '[{"study_id": "1"}]'}
    )

    assert (response.status_code, response.content) == (200, b'{"count":1}')
