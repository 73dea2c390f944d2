"""Issue 14's acceptance for reports: a data manager builds a report with a filter and a live
filter, views it, changes the live filter, exports it as SPSS, watches the background job
finish on the export archive page, downloads the file and reads it back with pyreadstat.

Screenshots of the archive, in English and in Japanese, are kept in the test's folder
(printed) for a look by eye.
"""

from __future__ import annotations

import hashlib
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
        fresh_demo_code(f"Export archive browser test {username}")
        + SETUP.format(username=username, password=password),
    )
    return username, password, int(out.strip().splitlines()[-1])


def _build_report(page: Any, project_id: int) -> str:
    """Build the report through the builder; returns its id."""
    page.goto(f"/projects/{project_id}/reports/")
    page.get_by_test_id("report-new").click()
    page.get_by_label("Title").fill("Men by site, for SPSS")
    page.locator("#field-rand_group").check()
    page.locator("#field-sex").check()
    page.locator("#event-screening_arm_1").check()
    logic = page.get_by_test_id("filter-logic")
    logic.fill("[sex] = '1'")
    expect(page.locator("#filter-status")).to_have_text("The logic is valid.")
    page.get_by_label("Live filter 1").select_option("redcap_data_access_group")
    page.get_by_test_id("report-save").click()
    expect(page.get_by_test_id("report-title")).to_have_text("Men by site, for SPSS")
    return str(page.url.rstrip("/").rsplit("/", 1)[1])


def test_export_a_live_filtered_report_as_spss_through_the_archive(
    page: Any, manager: tuple[str, str, int], tmp_path: Path
) -> None:
    import pyreadstat

    username, password, project_id = manager
    log_in(page, (username, password))
    report_id = _build_report(page, project_id)

    table = page.get_by_test_id("report-table")
    expect(table.locator("tbody tr")).to_have_count(6)  # sex = 1: two of four at each site
    page.get_by_label("Data access group").select_option("hokurei_med")
    page.get_by_role("button", name="Apply filters").click()
    expect(table.locator("tbody tr")).to_have_count(2)
    assert table.locator("tbody th a").all_inner_texts() == ["2-2", "2-4"]

    page.get_by_label("Format").select_option("spss")
    page.get_by_role("button", name="Export", exact=True).click()
    expect(page.get_by_test_id("archive-title")).to_have_text("Data export files")
    row = page.locator("tr[data-export]").first
    expect(row.get_by_test_id("export-status")).to_have_text("Done", timeout=60_000)
    expect(row).to_contain_text("Men by site, for SPSS")
    expect(row).to_contain_text("SPSS (.sav)")
    expect(row).to_contain_text("2 rows")
    expect(row.get_by_test_id("export-choices")).to_have_text(
        "Chosen: redcap_data_access_group = hokurei_med"
    )
    page.screenshot(path=str(tmp_path / "archive-en.png"), full_page=True)

    with page.expect_download() as download_info:
        row.get_by_test_id("export-download").click()
    path = tmp_path / "report.sav"
    download_info.value.save_as(path)
    assert download_info.value.suggested_filename.endswith(".sav")
    checksum = row.get_by_test_id("export-sha256").inner_text()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == checksum

    frame, meta = pyreadstat.read_sav(str(path))
    assert list(frame["record_id"]) == ["2-2", "2-4"]
    assert list(frame["redcap_event_name"]) == ["screening_arm_1", "screening_arm_1"]
    assert list(frame["sex"]) == [1.0, 1.0]
    assert list(frame["rand_group"]) == [2.0, 2.0]
    assert meta.variable_value_labels["sex"] == {1.0: "男性", 2.0: "女性"}
    assert meta.column_names_to_labels["sex"] == "性別"

    page.get_by_role("button", name="日本語").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.screenshot(path=str(tmp_path / "archive-ja.png"), full_page=True)
    print(f"Screenshots: {tmp_path}")
    page.get_by_role("button", name="English").click()  # the choice is kept for the user
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The server is shared by the session's tests: leave no saved report behind.
    page.goto(f"/projects/{project_id}/reports/{report_id}/delete/")
    page.get_by_role("button", name="Delete").click()
    expect(page.locator("[data-report]")).to_have_count(2)


RUNNING = """
from opencrf.accounts.models import User
from opencrf.exports.archive import rights_snapshot
from opencrf.exports.models import ExportFile
from opencrf.projects.models import Project
from opencrf.projects.selectors import member_rights
project = Project.objects.get(pk={project_id})
user = User.objects.get(username="{username}")
export = ExportFile.objects.create(
    project=project, report_key="A", format="csv", requested_by=user, status="queued",
    rows_written=10, rows_expected=40,
    rights=rights_snapshot(member_rights(user, project), project),
)
print(export.pk)
"""
PROGRESS = "from opencrf.exports.models import ExportFile; "
PROGRESS += "ExportFile.objects.filter(pk={export_id}).update({changes})"


def test_the_progress_bar_follows_a_running_export_and_the_page_shows_its_end(
    page: Any, manager: tuple[str, str, int], server_data_dir: str, tmp_path: Path
) -> None:
    username, password, project_id = manager
    out = run_opencrf(
        server_data_dir,
        "manage",
        "shell",
        "-c",
        RUNNING.format(project_id=project_id, username=username),
    )
    export_id = int(out.strip().splitlines()[-1])
    log_in(page, (username, password))
    page.goto(f"/projects/{project_id}/reports/archive/")
    row = page.locator(f'tr[data-export="{export_id}"]')
    expect(row.locator("progress")).to_have_attribute("value", "25")
    page.screenshot(path=str(tmp_path / "archive-running-en.png"), full_page=True)

    expect(row.get_by_test_id("export-status")).to_have_text("Queued")
    changes = "status='running', rows_written=30"
    run_opencrf(
        server_data_dir,
        "manage",
        "shell",
        "-c",
        PROGRESS.format(export_id=export_id, changes=changes),
    )
    expect(row).to_contain_text("30 / ~40 rows written")
    expect(row.get_by_test_id("export-status")).to_have_text("Running")
    assert row.locator("progress").evaluate("bar => bar.value") == 75

    changes = "status='failed', error='The export failed (OSError).'"
    run_opencrf(
        server_data_dir,
        "manage",
        "shell",
        "-c",
        PROGRESS.format(export_id=export_id, changes=changes),
    )
    expect(row.get_by_test_id("export-status")).to_have_text("Failed")
    expect(row).to_contain_text("The export failed (OSError).")
