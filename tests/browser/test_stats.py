"""A statistician opens a report's Stats & Charts, groups it by site, and reads it on a phone.

The demo study is loaded into the running server; the statistician is a member without a
group with full export rights. Screenshots in English, in Japanese and at phone width are
kept in the test's folder (printed) for a look by eye.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SETUP = """
from opencrf.accounts.models import User
from opencrf.projects.models import Project, ProjectMember
project = Project.objects.filter(title__contains="WALK-DM").order_by("pk").first()
user = User.objects.create_user(username="{username}", password="{password}")
forms = [i.name for i in project.instruments.all()]
ProjectMember.objects.create(
    project=project, user=user,
    form_rights=dict.fromkeys(forms, "read"), export_rights=dict.fromkeys(forms, "full"),
)
print(project.pk)
"""


GROUPS = """
from opencrf.projects.models import Project
from opencrf.records.models import Record
project = Project.objects.get(pk={pk})
for group in project.groups.all():
    print("site:", group.name)
print("ungrouped:", Record.objects.filter(project=project, group__isnull=True).exists())
"""


@pytest.fixture(scope="module")
def statistician(server_data_dir: str) -> tuple[str, str, int]:
    run_opencrf(server_data_dir, "demo")
    username, password = f"st_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    out = run_opencrf(
        server_data_dir,
        "manage",
        "shell",
        "-c",
        SETUP.format(username=username, password=password),
    )
    return username, password, int(out.strip().splitlines()[-1])


def test_open_the_stats_of_report_a_group_them_by_site_and_read_them_in_japanese_on_a_phone(
    page: Any, statistician: tuple[str, str, int], server_data_dir: str, tmp_path: Path
) -> None:
    username, password, project_id = statistician
    log_in(page, (username, password))
    page.goto(f"/projects/{project_id}/reports/A/")
    page.get_by_test_id("tab-stats").click()

    sex = page.get_by_test_id("stats-field-sex")
    expect(sex.locator("svg.stats-chart")).to_have_count(1)
    expect(sex.locator("svg.stats-chart text").filter(has_text="女性")).to_have_count(1)
    page.get_by_label("Group by").select_option("redcap_data_access_group")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("stats-count")).to_contain_text("grouped by Data access group")
    # All rows, then each site, then "[No value]" if another test left a record with no site
    # in this shared server's demo study.
    groups = run_opencrf(server_data_dir, "manage", "shell", "-c", GROUPS.format(pk=project_id))
    lines = groups.splitlines()
    sites = [line.removeprefix("site: ") for line in lines if line.startswith("site: ")]
    ungrouped = "ungrouped: True" in lines
    headers = sex.locator("[data-testid=stats-figures] tbody tr th")
    expected = ["All rows", *sites, *(["[No value]"] if ungrouped else [])]
    expect(headers).to_have_text(expected)
    assert len(sites) == 3
    page.screenshot(path=str(tmp_path / "stats-en.png"), full_page=True)

    page.get_by_role("button", name="日本語").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.screenshot(path=str(tmp_path / "stats-ja.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 390
    page.screenshot(path=str(tmp_path / "stats-ja-390.png"), full_page=True)
    print(f"Screenshots: {tmp_path}")
