"""A site coordinator in Chromium sees only their own site's participants, by every path.

The demo study (three sites, four participants each) is loaded into the running server with
`opencrf demo`; the coordinator of Hokurei (site 2) is made a member in that group with
`opencrf manage shell`. Then, logged in through the pages: the dashboard, its search, a record
of another site by its address, that record's form, its field history and the logging page.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SETUP = """
from opencrf.accounts.models import User
from opencrf.projects.models import DataAccessGroup, Project, ProjectMember, RIGHT_FLAGS
project = Project.objects.filter(title__contains="WALK-DM").order_by("pk").first()
user = User.objects.create_user(username="{username}", password="{password}")
rights = dict.fromkeys(RIGHT_FLAGS, False)
rights.update(record_create=True, logging=True)
ProjectMember.objects.create(
    project=project, user=user, group=DataAccessGroup.objects.get(project=project,
    unique_name="hokurei_med"), **rights,
    form_rights={{i.name: "edit" for i in project.instruments.all()}},
)
print(project.pk)
"""


@pytest.fixture(scope="module")
def coordinator(server_data_dir: str) -> tuple[str, str, int]:
    data_dir = server_data_dir
    run_opencrf(data_dir, "demo")
    username, password = f"hokurei_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    out = run_opencrf(
        data_dir, "manage", "shell", "-c", SETUP.format(username=username, password=password)
    )
    return username, password, int(out.strip().splitlines()[-1])


def test_a_site_coordinator_sees_only_their_sites_records_by_every_path(
    page: Any, coordinator: tuple[str, str, int]
) -> None:
    username, password, project_id = coordinator
    log_in(page, (username, password))

    page.goto(f"/projects/{project_id}/records/")
    rows = page.get_by_test_id("dashboard").locator("tbody tr")
    expect(rows).to_have_count(4)
    assert [row.get_attribute("data-record") for row in rows.all()] == ["2-1", "2-2", "2-3", "2-4"]
    page.get_by_label("Record ID contains").fill("1-1")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_test_id("no-records")).to_have_text("No record matches that search.")

    for path in (
        f"/projects/{project_id}/records/1-1/",
        f"/projects/{project_id}/records/1-1/screening_arm_1/enrolment/1/",
        f"/projects/{project_id}/records/1-1/screening_arm_1/enrolment/1/history/initials/",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 404, path

    page.goto(f"/projects/{project_id}/logging/")
    logged = page.locator("main").inner_text()
    assert "2-1" in logged
    assert not re.search(r"\b[13]-[1-4]\b", logged)
