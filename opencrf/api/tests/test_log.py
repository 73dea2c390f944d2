"""The audit trail through `content=log`, as REDCap's logging export (spec §2.21)."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.projects.models import ProjectMember
from opencrf.projects.services import group_create

pytestmark = pytest.mark.django_db


def log(token, **values):
    return orjson.loads(
        post({"token": token, "content": "log", "format": "json", **values}).content
    )


def test_entries_come_newest_first_with_redcaps_action_names(token, study, pi_paula):
    post({"token": token, "content": "record", "format": "csv", "data": "study_id,sex\n5,1\n"})

    rows = log(token)

    assert list(rows[0]) == ["timestamp", "username", "action", "details", "record"]
    assert [(r["action"], r["record"]) for r in rows[:2]] == [
        ("Update record (API) 5", "5"),
        ("Create record (API) 5", "5"),
    ]
    assert rows[0]["username"] == "pi_paula"
    assert "sex" in rows[0]["details"]
    assert rows[-1]["action"] == "Manage/Design"


def test_log_types_and_time_ranges_filter(token, study):
    post({"token": token, "content": "record", "format": "csv", "data": "study_id\n6\n"})

    added = log(token, logtype="record_add")
    managed = log(token, logtype="manage")
    none_yet = log(token, endTime="2000-01-01 24:00")

    assert [r["action"] for r in added] == ["Create record (API) 6"]
    assert managed and all(r["action"] == "Manage/Design" for r in managed)
    assert none_yet == []


def test_a_grouped_member_sees_only_entries_about_their_groups_records(
    token, study, paula_context, site_b_bea
):
    north = group_create(context=paula_context, project=study, name="North")
    post(
        {
            "token": token,
            "content": "record",
            "format": "csv",
            "data": "study_id,redcap_data_access_group\nn1,north\ns1,\n",
        }
    )
    ProjectMember.objects.create(
        project=study, user=site_b_bea, group=north, api_export=True, logging=True
    )
    bea = token_create(context=paula_context, user=site_b_bea, project=study)

    records = {row["record"] for row in log(bea)}

    assert records <= {"", "n1"}
    assert "n1" in records


def test_logging_needs_the_logging_right(study, paula_context, site_b_bea):
    ProjectMember.objects.create(project=study, user=site_b_bea, api_export=True)
    bea = token_create(context=paula_context, user=site_b_bea, project=study)

    response = post({"token": bea, "content": "log", "format": "csv"})

    assert (response.status_code, response.content) == (
        403,
        b"ERROR: You do not have permissions to use the API",
    )
