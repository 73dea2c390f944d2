"""A trial statistician sets up stratified randomization, moves the trial to production,
randomizes four records at two sites from their record pages and reads the dashboard; the
same pages in Japanese. Screenshots go to OPENCRF_SHOTS when set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_opencrf
from tests.browser.test_journeys import AUTHENTICATOR, log_in

pytestmark = pytest.mark.browser

SETUP = """
from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.services import group_create, project_create
from opencrf.records.services import form_save, record_create
user = User.objects.create_user(username="{username}", password="{password}", is_superuser=True,
                                is_staff=True)
from opencrf.accounts.two_factor import totp_enrolment_start, totp_secret_base32
device = totp_enrolment_start(user)
device.confirmed = True
device.save()
context = AuditContext(actor=user)
project = project_create(context=context, title="Randomization WALK")
F = "enrol"
rows = [
    FieldRow(field_name="record_id", form_name=F, field_label="Record ID"),
    FieldRow(field_name="sex", form_name=F, field_type="radio", field_label="Sex",
             select_choices_or_calculations="1, Male | 2, Female"),
    FieldRow(field_name="arm", form_name=F, field_type="radio", field_label="Allocated arm",
             select_choices_or_calculations="1, Low salt | 2, Usual diet"),
]
dictionary_apply(context=context, project=project, rows=rows, source="upload")
groups = [group_create(context=context, project=project, name=n) for n in ("Osaka", "Kyoto")]
event = project.events.get()
for n, (group, sex) in enumerate([(0, "1"), (0, "2"), (1, "1"), (1, "1")], start=1):
    record = record_create(context=context, project=project, record_id=str(n), group=groups[group])
    form_save(context=context, record=record, event=event, form_name=F, values={{"sex": sex}},
              base_version=0)
print(totp_secret_base32(device))
print(project.pk)
"""


@pytest.fixture(scope="module")
def statistician(server_data_dir: str) -> tuple[str, str, int]:
    username, password = f"stat_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    out = run_opencrf(
        server_data_dir, "manage", "shell", "-c", SETUP.format(username=username, password=password)
    )
    *_printed, secret, project_id = out.strip().splitlines()
    AUTHENTICATOR[username] = (secret, -1)
    return username, password, int(project_id)


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    if shots := os.environ.get("OPENCRF_SHOTS"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def test_stratified_randomization_from_set_up_to_dashboard(
    page: Any, statistician: tuple[str, str, int], tmp_path: Path
) -> None:
    username, password, project_id = statistician
    log_in(page, (username, password))
    base = f"/projects/{project_id}/randomization"

    page.goto(f"{base}/setup/")
    form = page.get_by_test_id("setup-form")
    form.get_by_label("Allocation field").select_option(label="arm (Allocated arm)")
    form.get_by_label("sex (Sex)").check()
    form.get_by_label("Stratify by data access group").check()
    form.get_by_test_id("setup-save").click()
    expect(page.get_by_text("The randomization set-up was saved.")).to_be_visible()
    for environment in ("development", "production"):
        generate = page.get_by_test_id(f"generate-{environment}")
        generate.get_by_label("Block sizes").fill("2, 4")
        generate.get_by_label("Blocks per stratum").fill("3")
        generate.get_by_role("button", name="Generate permuted blocks").click()
        expect(page.get_by_text("The allocation table was generated")).to_be_visible()
    expect(page.get_by_test_id("table-production")).to_contain_text("0 used")
    _shot(page, tmp_path, "randomization-setup-en")

    page.goto(f"/projects/{project_id}/status/")
    page.get_by_test_id("reason-production").fill("Trial opens")
    page.get_by_test_id("move-production").click()
    page.goto(f"{base}/setup/")
    expect(page.get_by_test_id("setup-locked")).to_be_visible()

    for record_id in ("1", "2", "3", "4"):
        page.goto(f"/projects/{project_id}/records/{record_id}/")
        page.get_by_test_id("randomize-button").click()
        expect(page.get_by_test_id("randomize-strata")).to_be_visible()
        if record_id == "1":
            _shot(page, tmp_path, "randomization-confirm-en")
        page.get_by_label("I confirm that this record is eligible").check()
        page.get_by_test_id("randomize-submit").click()
        expect(page.get_by_test_id("randomization-arm")).to_be_visible()
    _shot(page, tmp_path, "randomization-record-en")

    page.goto(f"{base}/dashboard/")
    expect(page.get_by_test_id("total")).to_have_text("4")
    expect(page.get_by_test_id("allocations").locator("tbody tr")).to_have_count(4)
    _shot(page, tmp_path, "randomization-dashboard-en")

    page.locator(".language-switch").get_by_role("button", name="日本語").click()
    page.goto(f"{base}/dashboard/")
    # The texts are Japanese once the catalogue holds them (i18n/randomization.tsv).
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    _shot(page, tmp_path, "randomization-dashboard-ja")
    page.goto(f"{base}/setup/")
    _shot(page, tmp_path, "randomization-setup-ja")
    page.goto(f"/projects/{project_id}/records/1/")
    _shot(page, tmp_path, "randomization-record-ja")
    page.locator(".language-switch").get_by_role("button", name="English").click()
