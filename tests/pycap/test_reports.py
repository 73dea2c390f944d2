"""PyCap's `export_report` against a live `opencrf serve`: a saved report in every format and
with REDCap's options, and the same report for a member of one data access group.

The project is REDCap's own `simple` Project XML, whose two saved reports come with it; the
report ids are read back from the project's Project XML (`unique_report_name`). This module
runs its own server, as it needs the server's command line (a second account and its token).
"""

from __future__ import annotations

import io
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from redcap import Project, RedcapError

from tests.browser.conftest import _free_port, _server_env, _stop, _wait_until_ready
from tests.pycap.conftest import _opencrf

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "redcap-projects" / "simple"
ADMIN = "report_admin"
SAM = "site_sam"
RACES = [f"race___{code}" for code in range(1, 7)]
RACE_LABELS = {
    "race___1": "American Indian/Alaska Native",
    "race___2": "Asian",
    "race___3": "Native Hawaiian or Other Pacific Islander",
    "race___4": "Black or African American",
    "race___5": "White",
    "race___6": "Unknown / Not Reported",
}
# The race checkboxes ticked in each record of the `simple` fixture.
TICKED = {
    "1": ["race___5"],
    "2": ["race___3", "race___5"],
    "3": ["race___4", "race___5"],
    "4": ["race___2", "race___5"],
    "5": ["race___1", "race___6"],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("pycap-reports")
    (root / "data").mkdir()
    password = root / "password"
    password.write_text(secrets.token_urlsafe(18), encoding="utf-8")
    env = _server_env(root / "data")
    _opencrf("init", "--admin", ADMIN, "--password-file", str(password), env=env, cwd=root)
    super_token = _opencrf("token", "--user", ADMIN, "--super", env=env, cwd=root).strip()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "opencrf", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_ready(url, process, log_path)
        yield {"url": f"{url}/api/", "super_token": super_token, "env": env, "root": root}
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def admin(server) -> Project:
    title = "<item><project_title>Reports</project_title><purpose>0</purpose></item>"
    response = requests.post(
        server["url"],
        data={
            "token": server["super_token"],
            "content": "project",
            "format": "xml",
            "data": title,
            "odm": (FIXTURE / "project.xml").read_text(encoding="utf-8"),
        },
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return Project(server["url"], response.text[-32:])


@pytest.fixture(scope="module")
def report_ids(admin) -> dict[str, str]:
    """Report title → id, from the project's own Project XML."""
    xml = requests.post(
        admin.url,
        data={"token": admin.token, "content": "project_xml", "returnMetadataOnly": "true"},
        timeout=60,
    ).text
    found = re.findall(r'<redcap:Reports title="([^"]+)" unique_report_name="R-(\d{10})"', xml)
    return {title: str(int(number)) for title, number in found}


@pytest.fixture(scope="module")
def groups(admin) -> dict[str, str]:
    rows = admin.export_records(fields=["record_id"], export_data_access_groups=True)
    return {row["record_id"]: row["redcap_data_access_group"] for row in rows}


@pytest.fixture(scope="module")
def sam(server, admin, groups) -> Project:
    """A member of dag_1 with a full export right and an API token."""
    _opencrf(
        "manage",
        "shell",
        "-c",
        f"from opencrf.accounts.models import User; User.objects.create_user({SAM!r})",
        env=server["env"],
        cwd=server["root"],
    )
    forms = {form["instrument_name"]: 1 for form in admin.export_instruments()}
    member = {"username": SAM, "api_export": "1", "forms": forms, "forms_export": forms}
    assert admin.import_users([member | {"data_access_group": "dag_1"}]) == 1
    project_id = str(admin.export_project_info()["project_id"])
    token = _opencrf(
        "token", "--user", SAM, "--project", project_id, env=server["env"], cwd=server["root"]
    ).strip()
    return Project(server["url"], token)


def _race_rows(records: list[str]) -> list[dict[str, str]]:
    return [
        {"record_id": record} | {race: "1" if race in TICKED[record] else "0" for race in RACES}
        for record in records
    ]


def test_the_reports_come_with_the_project_and_have_ids(report_ids):
    assert sorted(report_ids) == ["test-report-1", "test-report-2"]


def test_a_saved_report_in_json_is_its_fields_for_every_record(admin, report_ids):
    rows = admin.export_report(report_id=report_ids["test-report-2"])

    assert rows == _race_rows(["1", "2", "3", "4", "5"])


def test_the_same_report_in_csv_and_as_a_dataframe(admin, report_ids):
    text = admin.export_report(report_id=report_ids["test-report-2"], format_type="csv")
    frame = admin.export_report(report_id=report_ids["test-report-2"], format_type="df")

    assert text.splitlines()[0] == "record_id," + ",".join(RACES)
    assert pd.read_csv(io.StringIO(text), dtype=str).to_dict("records") == _race_rows(
        ["1", "2", "3", "4", "5"]
    )
    assert frame.index.name == "record_id"
    assert list(frame.index) == [1, 2, 3, 4, 5]
    assert list(frame.columns) == RACES
    assert frame.loc[5].tolist() == [1, 0, 0, 0, 0, 1]


def test_labels_and_checkbox_labels(admin, report_ids):
    report = report_ids["test-report-2"]

    checked = admin.export_report(report_id=report, raw_or_label="label")
    named = admin.export_report(report_id=report, raw_or_label="label", export_checkbox_labels=True)

    assert checked[4] == {"record_id": "5"} | {
        race: "Checked" if race in TICKED["5"] else "Unchecked" for race in RACES
    }
    assert named[4] == {"record_id": "5"} | {
        race: RACE_LABELS[race] if race in TICKED["5"] else "" for race in RACES
    }


def test_a_report_with_a_choice_field_in_labels_keeps_the_reports_column_order(admin, report_ids):
    rows = admin.export_report(report_id=report_ids["test-report-1"], raw_or_label="label")

    assert list(rows[0]) == ["record_id", "height", "health_complete", "address", "ethnicity"]
    assert [(row["health_complete"], row["ethnicity"]) for row in rows] == [
        ("Unverified", "NOT Hispanic or Latino"),
        ("Incomplete", "NOT Hispanic or Latino"),
        ("Complete", "Unknown / Not Reported"),
        ("Complete", "NOT Hispanic or Latino"),
        ("Incomplete", "Hispanic or Latino"),
    ]


def test_a_grouped_member_gets_only_their_groups_rows(sam, admin, report_ids, groups):
    own = sorted(record for record, group in groups.items() if group == "dag_1")

    rows = sam.export_report(report_id=report_ids["test-report-2"])
    frame = sam.export_report(report_id=report_ids["test-report-2"], format_type="df")

    assert len(own) == 3
    assert rows == _race_rows(own)
    assert [str(record) for record in frame.index] == own


def test_an_unknown_report_id_is_refused_like_a_missing_one(admin):
    with pytest.raises(RedcapError, match='The value of the parameter "report_id" is not valid'):
        admin.export_report(report_id="999999")
