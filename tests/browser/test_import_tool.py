"""A data manager imports a CSV with the Data Import Tool: one bad cell refuses the whole file,
then the corrected file is previewed, confirmed and its values are stored.

The demo study is loaded into the running server; the data manager is a member without a group
who holds the Data Import Tool right. Screenshots of the refused preview, the good preview and
the result, in English and in Japanese, are kept in the test's folder (printed).
"""

from __future__ import annotations

import json
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
    project=project, user=user, data_import=True, record_create=True,
    form_rights=dict.fromkeys(forms, "edit"), export_rights=dict.fromkeys(forms, "full"),
)
print(project.pk)
"""
STATE = """
import json
from opencrf.audit.models import AuditEvent
from opencrf.records.models import FormData
forms = FormData.objects.filter(record__record_id__startswith="IMP-", form_name="enrolment")
print(json.dumps({"values": {f.record.record_id: [f.values.get("sex"), f.values.get("dob")]
    for f in forms}, "sources": sorted(set(AuditEvent.objects.filter(
    record__startswith="IMP-").values_list("source", flat=True)))}))
"""
HEADER = "record_id,redcap_event_name,sex,dob\n"
BAD = HEADER + "IMP-1,screening_arm_1,2,1960-05-06\nIMP-2,screening_arm_1,7,1970-01-02\n"
GOOD = HEADER + "IMP-1,screening_arm_1,2,1960-05-06\nIMP-2,screening_arm_1,1,1970-01-02\n"


@pytest.fixture(scope="module")
def data_manager(server_data_dir: str) -> tuple[str, str, int]:
    run_opencrf(server_data_dir, "demo")
    username, password = f"dm_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    out = run_opencrf(
        server_data_dir, "manage", "shell", "-c", SETUP.format(username=username, password=password)
    )
    return username, password, int(out.strip().splitlines()[-1])


def server_state(data_dir: str) -> dict[str, Any]:
    out = run_opencrf(data_dir, "manage", "shell", "-c", STATE)
    return json.loads(out.strip().splitlines()[-1])


def upload(page: Any, project_id: int, body: str) -> None:
    page.goto(f"/projects/{project_id}/import/")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "visits.csv", "mimeType": "text/csv", "buffer": body.encode("utf-8")}]
    )
    page.get_by_test_id("import-check").click()


def test_a_file_with_one_bad_cell_is_refused_whole_and_the_corrected_one_is_imported(
    page: Any, data_manager: tuple[str, str, int], server_data_dir: str, tmp_path: Path
) -> None:
    username, password, project_id = data_manager
    log_in(page, (username, password))

    upload(page, project_id, BAD)
    errors = page.get_by_test_id("import-errors")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors.locator("tbody tr td").nth(0)).to_have_text("3")
    expect(errors.locator("tbody tr td").nth(1)).to_have_text("IMP-2")
    expect(errors.locator("tbody tr td").nth(2)).to_have_text("sex")
    expect(errors.locator("tbody tr td").nth(3)).to_have_text("7")
    expect(page.get_by_test_id("import-confirm")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "refused-en.png"), full_page=True)
    assert server_state(server_data_dir) == {"values": {}, "sources": []}

    upload(page, project_id, GOOD)
    expect(page.get_by_test_id("count-new")).to_have_text("2")
    expect(page.get_by_test_id("count-errors")).to_have_text("0")
    expect(page.get_by_test_id("import-changes")).to_contain_text("1970-01-02")
    page.screenshot(path=str(tmp_path / "preview-en.png"), full_page=True)
    assert server_state(server_data_dir) == {"values": {}, "sources": []}
    page.get_by_test_id("import-confirm").click()

    expect(page.get_by_test_id("import-done")).to_be_visible()
    expect(page.get_by_test_id("import-records").get_by_role("link", name="IMP-2")).to_be_visible()
    page.screenshot(path=str(tmp_path / "done-en.png"), full_page=True)
    assert server_state(server_data_dir) == {
        "values": {"IMP-1": ["2", "1960-05-06"], "IMP-2": ["1", "1970-01-02"]},
        "sources": ["import"],
    }

    page.get_by_role("button", name="日本語").click()  # back to the upload page, in Japanese
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.screenshot(path=str(tmp_path / "upload-ja.png"), full_page=True)
    upload(page, project_id, BAD)
    expect(page.get_by_test_id("import-errors").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("import-confirm")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "refused-ja.png"), full_page=True)
    print(f"Screenshots: {tmp_path}")
