"""A monitor verifies a form against source in Chromium; the site's coordinator changes a value;
the monitor sees the form marked no longer verified, with the field that changed, and the
Source data verification page counts it. Screenshots in English and Japanese go to
OPENCRF_SHOTS when set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ACTION_TIMEOUT_MS, fresh_demo_code, run_opencrf
from tests.browser.test_journeys import AUTHENTICATOR, log_in

pytestmark = pytest.mark.browser

SETUP = """
from opencrf.accounts.models import User
from opencrf.projects.models import ProjectMember
from opencrf.accounts.two_factor import totp_enrolment_start, totp_secret_base32
forms = [i.name for i in project.instruments.all()]
people = [
    ("{monitor}", "Mo", "Monitor", None, dict(source_verify=True), "read"),
    ("{site}", "Sam", "Site", project.groups.get(unique_name="toto_univ"), {{}}, "edit"),
]
for username, first, last, group, rights, access in people:
    user = User.objects.create_user(username=username, password="{password}",
                                    first_name=first, last_name=last)
    ProjectMember.objects.create(project=project, user=user, group=group, **rights,
                                 form_rights=dict.fromkeys(forms, access))
    device = totp_enrolment_start(user)
    device.confirmed = True
    device.save()
    print(totp_secret_base32(device))
print(project.pk)
"""


@pytest.fixture(scope="module")
def cast(server_data_dir: str) -> dict[str, Any]:
    monitor, site = f"mo_{secrets.token_hex(3)}", f"sam_{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(16)
    code = fresh_demo_code("SDV WALK") + SETUP.format(monitor=monitor, site=site, password=password)
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", code)
    *_printed, monitor_secret, site_secret, project_id = out.strip().splitlines()
    AUTHENTICATOR[monitor] = (monitor_secret, -1)
    AUTHENTICATOR[site] = (site_secret, -1)
    return {
        "monitor": (monitor, password),
        "site": (site, password),
        "project": int(project_id),
    }


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    if shots := os.environ.get("OPENCRF_SHOTS"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def _both_languages(page: Any, tmp_path: Path, name: str, testid: str) -> None:
    _shot(page, tmp_path, f"{name}-en")
    page.locator(".language-switch").get_by_role("button", name="日本語").click()
    expect(page.get_by_test_id(testid).first).to_be_visible()
    _shot(page, tmp_path, f"{name}-ja")
    page.locator(".language-switch").get_by_role("button", name="English").click()
    expect(page.get_by_test_id(testid).first).to_be_visible()


def _second_page(browser: Any, server_url: str) -> Any:
    context = browser.new_context(
        base_url=server_url, locale="en-US", viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context.new_page()


def test_a_monitor_sees_a_verified_form_marked_changed_after_the_site_changes_a_value(
    page: Any, browser: Any, server_url: str, cast: dict[str, Any], tmp_path: Path
) -> None:
    project = cast["project"]
    form = f"/projects/{project}/records/1-1/screening_arm_1/enrolment/1/"
    log_in(page, cast["monitor"])
    page.goto(form)
    expect(page.get_by_test_id("verification-status")).to_have_text(
        "This form is not verified against source yet."
    )

    page.get_by_test_id("verify-form").click()
    expect(page.get_by_test_id("verification-status")).to_contain_text(
        "Verified against source by Mo Monitor at "
    )
    page.get_by_test_id("sdv-verify-sex").click()
    expect(page.get_by_test_id("sdv-sex").get_by_test_id("sdv-verified")).to_be_visible()
    _both_languages(page, tmp_path, "sdv-verified", "verification-note")

    site = _second_page(browser, server_url)
    try:
        log_in(site, cast["site"])
        site.goto(form)
        expect(site.get_by_test_id("verification-status")).to_contain_text("Mo Monitor")
        expect(site.get_by_test_id("verify-form")).to_have_count(0)
        site.locator("#f-initials").fill("ZZ")
        reason = site.locator("#crf-reason")
        reason.fill("Corrected from the source document")
        site.get_by_role("button", name="Save & Stay").click()
        expect(site.get_by_test_id("verification-status")).to_contain_text(
            "Verification no longer valid: initials changed after verification on "
        )
    finally:
        site.context.close()

    page.reload()
    expect(page.get_by_test_id("verification-status")).to_contain_text(
        "Verification no longer valid: initials changed after verification on "
    )
    expect(page.get_by_test_id("sdv-initials").get_by_test_id("sdv-changed")).to_be_visible()
    expect(page.get_by_test_id("sdv-sex").get_by_test_id("sdv-verified")).to_be_visible()
    expect(page.get_by_test_id("verify-form")).to_have_text("Verify this form again")
    _both_languages(page, tmp_path, "sdv-changed", "verification-note")

    page.goto(f"/projects/{project}/records/1-1/")
    panel = page.get_by_test_id("record-verification")
    expect(panel.locator('tr[data-form="enrolment"] [data-status="changed"]')).to_be_visible()
    _both_languages(page, tmp_path, "sdv-record", "record-verification")

    page.goto(f"/projects/{project}/quality/verification/")
    toto = page.locator('tr[data-form="enrolment"][data-group*="Toto"]')
    expect(toto.locator('[data-count="changed"]')).to_have_text("1")
    expect(toto.locator('[data-count="not_verified"]')).to_have_text("3")
    expect(page.get_by_test_id("pending").locator("tbody tr").first).to_contain_text("1-1")
    _both_languages(page, tmp_path, "sdv-progress", "verification-progress")

    page.goto(form)
    page.get_by_test_id("unverify-form").click()
    page.get_by_label("Reason (required)").fill("Verified against the wrong visit")
    _shot(page, tmp_path, "sdv-unverify-en")
    page.get_by_test_id("unverify-submit").click()
    expect(page.get_by_test_id("verification-status")).to_have_text(
        "This form is not verified against source yet."
    )
