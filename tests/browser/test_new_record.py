"""In Chromium: a new record exists only once its first form is saved; blank required fields
are listed once, each linking to its field, which is marked.

On the demo study (`opencrf demo`): "Add new record" opens the enrolment form of a record not
saved yet; its home page, a reload and leaving create nothing (checked in the server's database
with `opencrf manage shell`). Saving the form with its required fields blank creates the record
and shows one summary whose links focus the marked fields.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

STATE = """
import json
from opencrf.audit.models import AuditEvent
from opencrf.projects.models import Project
from opencrf.records.models import Record
project = Project.objects.filter(title__contains="WALK-DM").order_by("pk").first()
print(json.dumps({"project": project.pk,
    "records": sorted(Record.objects.filter(project=project).values_list("record_id", flat=True)),
    "audit": AuditEvent.objects.filter(project_id=project.pk).count()}))
"""
# The enrolment form's required fields left blank when only the initials are entered (the
# consent date is today's by @TODAY; with no inclusion criterion ticked the participant is not
# eligible, which asks for the reason), with the control each one is marked on: the input, or the
# group of a radio or checkbox field's inputs.
REQUIRED = {
    "dob": "#f-dob",
    "sex": "[data-field='sex'] [role='radiogroup']",
    "incl": "[data-field='incl'] [role='group']",
    "excl_any": "[data-field='excl_any'] [role='radiogroup']",
    "inelig_reason": "#f-inelig_reason",
}


def server_state(data_dir: str) -> dict[str, Any]:
    out = run_opencrf(data_dir, "manage", "shell", "-c", STATE)
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def project_id(server_data_dir: str) -> int:
    run_opencrf(server_data_dir, "demo")
    return int(server_state(server_data_dir)["project"])


def test_leaving_a_new_record_unsaved_creates_nothing_and_saving_creates_it(
    page: Any, admin_credentials: tuple[str, str], project_id: int, server_data_dir: str
) -> None:
    log_in(page, admin_credentials)
    before = server_state(server_data_dir)
    page.goto(f"/projects/{project_id}/records/")
    page.get_by_role("button", name="Add new record").click()
    expect(page).to_have_url(re.compile(r"/screening_arm_1/enrolment/1/\?new=1&arm=1&auto=1$"))
    record_id = page.locator("#f-record_id").input_value()
    expect(page.get_by_test_id("new-record")).to_contain_text(f"Adding new record {record_id}.")

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=record_id).click()
    expect(page.get_by_test_id("new-record")).to_be_visible()
    expect(page.get_by_test_id("record-actions")).to_have_count(0)
    page.reload()
    page.get_by_role("link", name="Record Status Dashboard", exact=True).first.click()
    expect(
        page.get_by_test_id("dashboard").locator(f"tr[data-record='{record_id}']")
    ).to_have_count(0)
    assert server_state(server_data_dir) == before

    page.go_back()  # the new record's home page, still unsaved
    expect(page.get_by_test_id("new-record")).to_be_visible()
    page.get_by_test_id("event-grid").get_by_role("link").first.click()
    page.locator("#f-initials").fill("NR")
    page.get_by_role("button", name="Save & Stay").click()

    expect(page).to_have_url(re.compile(rf"/records/{record_id}/screening_arm_1/enrolment/1/$"))
    expect(page.get_by_test_id("new-record")).to_have_count(0)
    after = server_state(server_data_dir)
    assert after["records"] == sorted([*before["records"], record_id])
    assert after["audit"] == before["audit"] + 2  # record.create and form.update


def test_blank_required_fields_are_listed_once_and_their_links_focus_the_marked_fields(
    page: Any, admin_credentials: tuple[str, str], project_id: int
) -> None:
    log_in(page, admin_credentials)
    page.goto(f"/projects/{project_id}/records/")
    page.get_by_role("button", name="Add new record").click()
    page.locator("#f-initials").fill("RQ")
    page.get_by_role("button", name="Save & Exit Form").click()

    summary = page.get_by_test_id("warning-summary")
    expect(summary).to_have_count(1)
    expect(page.locator(".messages .alert-warning")).to_have_count(0)  # no banner per field
    links = summary.locator("li a")
    expect(links).to_have_count(len(REQUIRED))
    targets = [link.get_attribute("data-focus") for link in links.all()]
    assert targets == ["f-dob", "f-sex-0", "f-incl-0", "f-excl_any-0", "f-inelig_reason"]
    for target in targets:
        expect(page.locator(f"#{target}")).to_have_count(1)
    for name, control in REQUIRED.items():
        expect(page.locator(control)).to_have_attribute("aria-invalid", "true")
        expect(page.locator(control)).to_have_attribute("aria-describedby", f"warning-{name}")
        expect(page.locator(f"#warning-{name}")).to_have_text("⚠ A value is required.")
        row = page.locator(f"[data-field='{name}']")
        expect(row).to_have_class(re.compile("crf-field-invalid"))

    summary.get_by_role("link", name=re.compile("Date of birth")).click()
    expect(page.locator("#f-dob")).to_be_focused()
    page.keyboard.type("1970-01-02")
    expect(page.locator("#f-dob")).to_have_value("1970-01-02")
    summary.get_by_role("link", name=re.compile("Sex")).click()
    expect(page.locator("#f-sex-0")).to_be_focused()
    summary.get_by_test_id("leave-anyway").click()
    expect(page).to_have_url(re.compile(r"/records/[^/]+/$"))
