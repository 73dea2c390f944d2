"""An investigator locks and e-signs a form in Chromium, with password and one-time code.

The demo study is loaded into the running server; the investigator is a member with every right.
After signing, the form is read-only (no save buttons) and a save posted anyway is refused; an
unlock (with its reason) shows the signature as invalidated. Screenshots in both languages go
to OPENCRF_SHOTS when set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_opencrf
from tests.browser.test_journeys import AUTHENTICATOR, log_in, next_code

pytestmark = pytest.mark.browser

SETUP = """
from opencrf.accounts.models import User
from opencrf.projects.models import Project, ProjectMember, RIGHT_FLAGS
project = Project.objects.filter(title__contains="WALK-DM").order_by("pk").first()
user = User.objects.create_user(username="{username}", password="{password}",
                                first_name="Ines", last_name="Investigator")
ProjectMember.objects.create(
    project=project, user=user, **dict.fromkeys(RIGHT_FLAGS, True),
    form_rights={{i.name: "edit" for i in project.instruments.all()}},
)
from opencrf.accounts.two_factor import totp_enrolment_start, totp_secret_base32
device = totp_enrolment_start(user)
device.confirmed = True
device.save()
from opencrf.api.tokens import token_create
from opencrf.audit.services import AuditContext
token = token_create(context=AuditContext.system(), user=user, project=project)
print(totp_secret_base32(device))
print(token)
print(project.pk)
"""


@pytest.fixture(scope="module")
def investigator(server_data_dir: str) -> tuple[str, str, int, str]:
    run_opencrf(server_data_dir, "demo")
    username, password = f"inv_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    out = run_opencrf(
        server_data_dir,
        "manage",
        "shell",
        "-c",
        SETUP.format(username=username, password=password),
    )
    *_printed, secret, token, project_id = out.strip().splitlines()
    AUTHENTICATOR[username] = (secret, -1)
    return username, password, int(project_id), token


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    if shots := os.environ.get("OPENCRF_SHOTS"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def test_an_investigator_locks_and_signs_a_form_and_an_unlock_voids_the_signature(
    page: Any, investigator: tuple[str, str, int, str], tmp_path: Path
) -> None:
    username, password, project_id, api_token = investigator
    log_in(page, (username, password))
    form = f"/projects/{project_id}/records/1-1/screening_arm_1/enrolment/1/"
    page.goto(form)
    panel = page.get_by_test_id("lock-panel")

    panel.get_by_label("Reason (optional)").fill("Source data verified")
    panel.get_by_test_id("lock-form-button").click()
    expect(page.get_by_test_id("lock-status")).to_contain_text("Source data verified")
    expect(page.get_by_test_id("form-readonly")).to_be_visible()
    expect(page.get_by_role("button", name="Save & Stay")).to_have_count(0)

    sign = page.get_by_test_id("sign-form")
    sign.get_by_label("Meaning of the signature").select_option("approval")
    sign.get_by_label("Password").fill(password)
    sign.get_by_label("One-time code").fill(next_code(username))
    sign.get_by_test_id("sign-button").click()
    signature = page.get_by_test_id("signature")
    expect(signature).to_contain_text("E-signed by Ines Investigator (Approval) at")
    _shot(page, tmp_path, "locking-signed-en")

    # A save posted to the locked form anyway (as a stale page would) is refused.
    token = page.locator("#crf-entry input[name=csrfmiddlewaretoken]").input_value()
    refused = page.request.post(
        form,
        form={"csrfmiddlewaretoken": token, "initials": "ZZ", "base_version": "1"},
        headers={"Referer": page.url},
    )
    assert refused.status == 400
    assert "is locked: unlock it first; nothing was saved." in refused.text()

    # The API refuses the same change in REDCap's words.
    change = '[{"record_id": "1-1", "redcap_event_name": "screening_arm_1", "initials": "ZZ"}]'
    imported = page.request.post(
        "/api/",
        form={"token": api_token, "content": "record", "format": "json", "data": change},
    )
    assert imported.status == 400
    assert "This field is located on a form that is locked." in imported.text()

    # So does the Data Import Tool, before anything is imported.
    page.goto(f"/projects/{project_id}/import/")
    page.locator("input[type=file]").set_input_files(
        files=[
            {
                "name": "change.csv",
                "mimeType": "text/csv",
                "buffer": b"record_id,redcap_event_name,initials\n1-1,screening_arm_1,ZZ\n",
            }
        ]
    )
    page.get_by_test_id("import-check").click()
    expect(page.get_by_test_id("import-errors")).to_contain_text("locked")
    expect(page.get_by_test_id("import-confirm")).to_have_count(0)
    page.goto(form)
    expect(page.locator("[name=initials]")).not_to_have_value("ZZ")

    page.locator(".language-switch").get_by_role("button", name="日本語").click()
    expect(page.get_by_test_id("signature")).to_be_visible()
    _shot(page, tmp_path, "locking-signed-ja")
    page.locator(".language-switch").get_by_role("button", name="English").click()

    panel = page.get_by_test_id("lock-panel")
    panel.get_by_label("Reason for unlocking (required)").fill("Correction after query")
    panel.get_by_test_id("unlock-form").click()
    invalid = page.get_by_test_id("signature-invalid")
    expect(invalid).to_contain_text("Signature invalidated by unlock at")
    _shot(page, tmp_path, "locking-invalidated-en")
    page.locator(".language-switch").get_by_role("button", name="日本語").click()
    expect(page.get_by_test_id("signature-invalid")).to_be_visible()
    _shot(page, tmp_path, "locking-invalidated-ja")
