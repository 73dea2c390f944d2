"""File upload fields on a survey, on a 360×740 phone against a real server: a participant
uploads a PDF through their link (in Japanese), sees it named when they come back to the page,
switches to English, signs on the signature pad and completes the survey; a member of the study
then downloads the very same PDF from the record's form.

Screenshots (Japanese and English pages, the staff form) are kept in the test's tmp folder,
and in $OPENCRF_SCREENSHOTS when set, to look at.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ACTION_TIMEOUT_MS, ADMIN_USERNAME, run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SETUP = """
import json
from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.surveys.tests.upload_world import record_link, upload_study, upload_survey
context = AuditContext(actor=User.objects.get(username=%r), source="system")
project = upload_study(context, title="書類 uploads %s")
survey = upload_survey(context, project, completion_text="ご提出ありがとうございました。")
record, response = record_link(context, survey)
print(json.dumps({"project": project.pk, "token": response.token}))
"""

STORED = """
import json
from opencrf.records.models import FormData
from opencrf.files.models import StoredFile
form = FormData.objects.get(record__project_id=%d, form_name="documents")
names = {
    name: StoredFile.objects.get(pk=int(form.values[name])).original_name
    for name in ("letter", "sig")
}
print(json.dumps({"status": form.status, "names": names, "agree": form.values.get("agree")}))
"""

# A small, real PDF (one empty page), as a scanner or phone would send it.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture(scope="module")
def upload_link(server_data_dir: str) -> dict[str, Any]:
    code = SETUP % (ADMIN_USERNAME, os.getpid())
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", code)
    return dict(json.loads(out.strip().splitlines()[-1]))


def shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    folder = os.environ.get("OPENCRF_SCREENSHOTS", "")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
    print(f"Screenshot: {tmp_path / name}.png")


def fits(page: Any) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


def test_a_participant_uploads_a_pdf_on_a_phone_and_staff_download_it(
    browser: Any,
    server_url: str,
    server_data_dir: str,
    upload_link: dict[str, Any],
    admin_credentials: tuple[str, str],
    tmp_path: Path,
) -> None:
    phone = browser.new_context(
        base_url=server_url,
        locale="ja-JP",
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    phone.set_default_timeout(ACTION_TIMEOUT_MS)
    page = phone.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    link = f"/surveys/s/{upload_link['token']}/"
    page.goto(link)
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.locator("#f-letter").set_input_files(
        files=[{"name": "紹介状.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.locator("#f-note").fill("よろしくお願いします")
    fits(page)
    shot(page, tmp_path, "uploads-phone-ja-page-1")
    page.get_by_test_id("survey-next").click()
    expect(page.get_by_test_id("survey-previous")).to_be_visible()

    # Back on page 1: the file is named (never linked), with its remove box.
    page.get_by_test_id("survey-previous").click()
    expect(page.get_by_test_id("file-name-letter")).to_have_text("紹介状.pdf")
    expect(page.get_by_test_id("file-letter").locator("a")).to_have_count(0)
    expect(page.get_by_test_id("file-remove-letter")).not_to_be_checked()
    fits(page)
    shot(page, tmp_path, "uploads-phone-ja-named")

    page.get_by_test_id("language-switch").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("file-letter")).to_contain_text("Your file:")
    expect(page.get_by_test_id("file-name-letter")).to_have_text("紹介状.pdf")
    shot(page, tmp_path, "uploads-phone-en-named")
    page.get_by_test_id("survey-next").click()

    page.get_by_label("Or type your name to sign with the keyboard").fill("Hanako Yamada")
    expect(page.get_by_test_id("signature-sig")).to_contain_text("Signed")
    page.locator("input[name='agree'][value='1']").check()
    fits(page)
    shot(page, tmp_path, "uploads-phone-en-page-2")
    page.get_by_test_id("survey-submit").click()
    expect(page.locator("main")).to_contain_text("ご提出ありがとうございました。")
    shot(page, tmp_path, "uploads-phone-en-done")
    assert errors == []
    page.goto(link)  # completed: the response takes no more changes (HTTP 403)
    expect(page.get_by_test_id("survey-message")).to_be_visible()
    phone.close()

    out = run_opencrf(server_data_dir, "manage", "shell", "-c", STORED % upload_link["project"])
    stored = json.loads(out.strip().splitlines()[-1])
    assert stored == {
        "status": 2,
        "names": {"letter": "紹介状.pdf", "sig": "signature.png"},
        "agree": "1",
    }

    desk = browser.new_context(base_url=server_url, locale="en-US")
    desk.set_default_timeout(ACTION_TIMEOUT_MS)
    staff = desk.new_page()
    log_in(staff, admin_credentials)
    staff.goto(f"/projects/{upload_link['project']}/records/1/event_1_arm_1/documents/1/")
    letter = staff.get_by_test_id("file-letter")
    expect(letter).to_contain_text("紹介状.pdf")
    shot(staff, tmp_path, "uploads-staff-form")
    with staff.expect_download() as download_info:
        letter.get_by_role("link", name="紹介状.pdf").click()
    download = download_info.value
    assert Path(download.path()).read_bytes() == PDF
    assert download.suggested_filename == "紹介状.pdf"
    desk.close()
