"""A data manager builds a report with a filter and a live filter, views it and exports it.

A copy of the demo study of its own is loaded into the running server; the data manager is a
member without a group, with the reports and full export rights. Screenshots of the builder
and the viewer, in English and in Japanese, are kept in the test's folder (printed).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import fresh_demo_code, run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SETUP = """
from opencrf.accounts.models import User
from opencrf.projects.models import ProjectMember
user = User.objects.create_user(username="{username}", password="{password}")
forms = [i.name for i in project.instruments.all()]
ProjectMember.objects.create(
    project=project, user=user, design=True, reports=True,
    form_rights=dict.fromkeys(forms, "edit"), export_rights=dict.fromkeys(forms, "full"),
)
print(project.pk)
"""


@pytest.fixture(scope="module")
def manager(server_data_dir: str) -> tuple[str, str, int]:
    username, password = f"dm_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    out = run_opencrf(
        server_data_dir,
        "manage",
        "shell",
        "-c",
        fresh_demo_code(f"Reports browser test {username}")
        + SETUP.format(username=username, password=password),
    )
    return username, password, int(out.strip().splitlines()[-1])


def test_build_a_filtered_report_with_a_live_filter_view_it_and_export_csv(
    page: Any, manager: tuple[str, str, int], tmp_path: Path
) -> None:
    username, password, project_id = manager
    log_in(page, (username, password))
    page.goto(f"/projects/{project_id}/")
    page.get_by_test_id("nav-reports").click()
    expect(page.locator("[data-report]")).to_have_count(2)  # A and B, nothing saved yet
    page.get_by_test_id("report-new").click()

    page.get_by_label("Title").fill("Men by site")
    search = page.get_by_test_id("field-search")
    search.fill("rand")
    expect(page.locator("#field-sex")).to_be_hidden()
    page.locator("#field-rand_group").check()
    search.fill("")
    page.locator("#field-sex").check()
    page.locator("#event-screening_arm_1").check()
    logic = page.get_by_test_id("filter-logic")
    logic.fill("[sex] = '1' and (")
    expect(page.locator("#filter-status")).to_contain_text("cannot be read at line 1, column")
    logic.fill("[sex] = '1'")
    expect(page.locator("#filter-status")).to_have_text("The logic is valid.")
    page.get_by_label("Live filter 1").select_option("redcap_data_access_group")
    page.screenshot(path=str(tmp_path / "builder-en.png"), full_page=True)
    page.get_by_test_id("report-save").click()

    expect(page.get_by_test_id("report-title")).to_have_text("Men by site")
    table = page.get_by_test_id("report-table")
    expect(table.locator("tbody tr")).to_have_count(6)  # sex = 1: two of four at each site
    page.get_by_label("Data access group").select_option("toto_univ")
    page.get_by_role("button", name="Apply filters").click()
    expect(table.locator("tbody tr")).to_have_count(2)
    ids = table.locator("tbody th a").all_inner_texts()
    assert ids == ["1-2", "1-4"]
    page.get_by_test_id("labels-toggle").click()
    expect(table.locator("tbody tr").first).to_contain_text("男性")
    page.screenshot(path=str(tmp_path / "viewer-en.png"), full_page=True)

    page.get_by_label("Format").select_option("csv")
    page.get_by_role("button", name="Export", exact=True).click()
    row = page.locator("tr[data-export]").first  # the export archive, the newest first
    expect(row.get_by_test_id("export-status")).to_have_text("Done", timeout=60_000)
    with page.expect_download() as download_info:
        row.get_by_test_id("export-download").click()
    path = tmp_path / "report.csv"
    download_info.value.save_as(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].split(",")[:2] == ["record_id", "redcap_event_name"]
    assert [line.split(",")[0] for line in lines[1:]] == ["1-2", "1-4"]

    page.go_back()
    page.get_by_role("button", name="日本語").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.screenshot(path=str(tmp_path / "viewer-ja.png"), full_page=True)
    page.goto(f"/projects/{project_id}/reports/")
    page.screenshot(path=str(tmp_path / "list-ja.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing cut off
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    delete = page.get_by_test_id("report-actions").locator(".btn-outline-danger").first
    box = delete.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    page.screenshot(path=str(tmp_path / "list-ja-390.png"), full_page=True)
    print(f"Screenshots: {tmp_path}")
