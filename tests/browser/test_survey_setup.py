"""Setting surveys up, against a real server: turn surveys on in the project settings, make the
first instrument a survey, then open Survey Distribution Tools and find its public link and QR
code, in English and in Japanese.

Screenshots (survey-settings-en, survey-distribution-en, survey-distribution-ja) are kept in
the test's tmp folder, and in $OPENCRF_SCREENSHOTS when set, to look at.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import fresh_demo_code, run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def study(server_data_dir: str) -> int:
    code = fresh_demo_code(f"Survey setup {os.getpid()}")
    code += "\nimport json\nprint(json.dumps({'project': project.pk}))\n"
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", code)
    return int(json.loads(out.strip().splitlines()[-1])["project"])


def shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    folder = os.environ.get("OPENCRF_SCREENSHOTS", "")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_designer_enables_surveys_and_finds_the_public_link_and_qr_code(
    page: Any, admin_credentials: tuple[str, str], study: int, tmp_path: Path
) -> None:
    log_in(page, admin_credentials)
    page.goto(f"/projects/{study}/settings/")
    page.get_by_label("Use surveys in this project").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()

    page.get_by_test_id("nav-survey-settings").click()
    page.locator('tr[data-form="enrolment"]').get_by_role("button", name="Enable as survey").click()
    expect(page.get_by_text("The instrument is now a survey.")).to_be_visible()
    page.get_by_label("Survey title").fill("登録アンケート / Enrolment survey")
    page.get_by_label("Question display").select_option("sections")
    page.get_by_label("Due when this logic is true").fill("[nosuch] = 1")
    expect(page.locator("#queue-logic-status")).to_have_text(
        "The logic refers to fields that do not exist: nosuch."
    )
    page.get_by_label("Due when this logic is true").fill("")
    shot(page, tmp_path, "survey-settings-en")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Survey settings saved.")).to_be_visible()

    page.get_by_test_id("nav-survey-distribution").click()
    link = page.get_by_test_id("public-link").get_by_test_id("survey-url")
    expect(link).to_have_value(
        re.compile(r"^http://127\.0\.0\.1:\d+/surveys/p/[A-Za-z0-9_-]{43}/$")
    )
    qr = page.get_by_test_id("public-link").get_by_test_id("survey-qr")
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.complete && image.naturalWidth > 0")
    shot(page, tmp_path, "survey-distribution-en")

    page.get_by_role("button", name="日本語").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_test_id("public-link").get_by_test_id("survey-qr")).to_be_visible()
    shot(page, tmp_path, "survey-distribution-ja")
    page.get_by_role("button", name="English").click()

    page.goto(f"/projects/{study}/records/1-1/")
    panel = page.get_by_test_id("record-surveys")
    row = panel.locator('tr[data-form="enrolment"]')
    expect(row).to_contain_text("Not started")
    shot(page, tmp_path, "survey-record-home-en")
    row.get_by_role("link", name="Survey link, access code and QR code").click()
    expect(page.get_by_test_id("access-code")).to_have_text(re.compile(r"^[A-Z0-9]{9}$"))
    expect(page.get_by_test_id("survey-url")).to_have_value(re.compile(r"/surveys/s/[\w-]{43}/$"))
    expect(page.get_by_test_id("survey-qr")).to_be_visible()
    shot(page, tmp_path, "survey-record-link-en")
