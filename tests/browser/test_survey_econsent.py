"""E-consent on a phone, against a real server: a participant answers the consent survey through
their link on a 360×740 screen, signs by drawing on the canvas with the mouse, confirms, and a
member of the study then downloads the stored PDF from the record's page.

Screenshots of the consent page (Japanese and English) and of the record's consent list are
kept in the test's tmp folder, and in $OPENCRF_SCREENSHOTS when set, to look at.
"""

from __future__ import annotations

import hashlib
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
from opencrf.dictionary.design import design_of
from opencrf.records.services import record_create_with_form
from opencrf.surveys.services import response_link
from opencrf.surveys.tests.econsent_world import consent_study, consent_survey
context = AuditContext(actor=User.objects.get(username=%r), source="system")
project = consent_study(context, title="同意 e-consent %s")
survey = consent_survey(context, project, completion_text="ご協力ありがとうございました。")
event = design_of(project).events[0]
record, _ = record_create_with_form(
    context=context, project=project, record_id="1", arm=None, event=event,
    form_name="consent", values={},
)
response = response_link(survey=survey, record=record, event=event)
print(json.dumps({"project": project.pk, "token": response.token}))
"""

SIGNED = """
import json
from opencrf.surveys.models import Consent
consent = Consent.objects.get(project_id=%d)
print(json.dumps({"sha256": consent.sha256, "version": consent.version, "name": consent.name}))
"""


@pytest.fixture(scope="module")
def consent_link(server_data_dir: str) -> dict[str, Any]:
    code = SETUP % (ADMIN_USERNAME, os.getpid())
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", code)
    return dict(json.loads(out.strip().splitlines()[-1]))


def shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    folder = os.environ.get("OPENCRF_SCREENSHOTS", "")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def draw_signature(page: Any) -> None:
    canvas = page.get_by_test_id("signature-canvas-signature")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    left, top, width, height = box["x"], box["y"], box["width"], box["height"]
    points = [(0.1, 0.7), (0.25, 0.3), (0.4, 0.75), (0.55, 0.35), (0.7, 0.7), (0.9, 0.4)]
    page.mouse.move(left + width * points[0][0], top + height * points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(left + width * x, top + height * y, steps=8)
    page.mouse.up()


def test_a_participant_signs_on_a_phone_and_staff_download_the_pdf(
    browser: Any,
    server_url: str,
    server_data_dir: str,
    consent_link: dict[str, Any],
    admin_credentials: tuple[str, str],
    tmp_path: Path,
) -> None:
    phone = browser.new_context(
        base_url=server_url, locale="ja-JP", viewport={"width": 360, "height": 740}
    )
    phone.set_default_timeout(ACTION_TIMEOUT_MS)
    page = phone.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"/surveys/s/{consent_link['token']}/")
    page.locator("input[name='agree'][value='1']").check()
    page.locator("input[name='contact'][value='1']").check()
    page.locator("input[name='participant_name']").fill("山田 花子")
    page.get_by_test_id("survey-submit").click()

    expect(page).to_have_url(f"{server_url}/surveys/s/{consent_link['token']}/consent/")
    expect(page.get_by_test_id("consent-answers")).to_contain_text("電話 / Phone")
    expect(page.get_by_test_id("consent-name")).to_have_value("山田 花子")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    draw_signature(page)
    expect(page.get_by_test_id("signature-signature")).to_have_class(
        "crf-signature crf-signature-signed"
    )
    assert page.evaluate("document.getElementById('consent-signature').files.length") == 1
    page.get_by_test_id("consent-certify").check()
    shot(page, tmp_path, "econsent-phone-ja")

    page.goto(f"/surveys/s/{consent_link['token']}/consent/?lang=en")
    expect(page.get_by_test_id("consent-submit")).to_have_text("Sign and submit")
    draw_signature(page)
    page.get_by_test_id("consent-certify").check()
    shot(page, tmp_path, "econsent-phone-en")
    page.get_by_test_id("consent-submit").click()
    expect(page.get_by_test_id("survey-title")).to_be_visible()
    expect(page.locator("main")).to_contain_text("ご協力ありがとうございました。")
    assert errors == []
    phone.close()

    out = run_opencrf(server_data_dir, "manage", "shell", "-c", SIGNED % consent_link["project"])
    signed = json.loads(out.strip().splitlines()[-1])
    assert (signed["version"], signed["name"]) == ("2.1", "山田 花子")

    desk = browser.new_context(base_url=server_url, locale="en-US")
    desk.set_default_timeout(ACTION_TIMEOUT_MS)
    staff = desk.new_page()
    log_in(staff, admin_credentials)
    staff.goto(f"/projects/{consent_link['project']}/records/1/")
    consents = staff.get_by_test_id("record-consents")
    expect(consents).to_contain_text("2.1")
    expect(consents).to_contain_text("山田 花子")
    consents.scroll_into_view_if_needed()
    shot(staff, tmp_path, "econsent-record-page")
    with staff.expect_download() as download_info:
        consents.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    assert hashlib.sha256(data).hexdigest() == signed["sha256"]
    assert download.suggested_filename.startswith("econsent_1_consent_")
    desk.close()


def test_a_signature_field_is_signed_on_the_data_entry_form_too(
    page: Any, consent_link: dict[str, Any], admin_credentials: tuple[str, str], tmp_path: Path
) -> None:
    log_in(page, admin_credentials)
    page.goto(f"/projects/{consent_link['project']}/records/2/event_1_arm_1/consent/1/?new=1")
    page.get_by_label("Or type your name to sign with the keyboard").fill("Hanako Yamada")
    expect(page.get_by_test_id("signature-participant_sig")).to_contain_text("Signed")
    shot(page, tmp_path, "signature-data-entry")
    page.get_by_role("button", name="Save & Stay").click()
    expect(page.get_by_test_id("file-participant_sig")).to_contain_text("signature.png")
