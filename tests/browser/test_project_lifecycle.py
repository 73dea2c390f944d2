"""A study goes to production, changes its forms in draft mode, and keeps every stored value.

A designer asks to move the project to production (the site asks an administrator's approval),
the administrator approves; the designer enters draft mode and uploads a dictionary that
removes a choice code holding data and renames a field. The review marks both critical with
their counts; the administrator approves; the stored values are all still there and the
audit trail names the values kept.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from playwright.sync_api import expect

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.csvio import iter_dictionary_csv
from tests.browser.conftest import ACTION_TIMEOUT_MS, run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SETUP = """
from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.services import project_create
from opencrf.records.imports import records_import
user = User.objects.create_user(username="{username}", password="{password}",
                                may_create_projects=True)
context = AuditContext(actor=user)
project = project_create(context=context, title="Lifecycle study {tag}")
rows = [
    FieldRow(field_name="record_id", form_name="visit", field_label="Record ID"),
    FieldRow(field_name="sex", form_name="visit", field_type="radio", field_label="Sex",
             select_choices_or_calculations="1, Male | 2, Female | 3, Other"),
    FieldRow(field_name="weight", form_name="visit", field_label="Weight"),
]
dictionary_apply(context=context, project=project, rows=rows, source="upload")
records_import(context=context, project=project, rows=[
    {{"record_id": "1", "sex": "3", "weight": "70"}},
    {{"record_id": "2", "sex": "3", "weight": "80"}},
    {{"record_id": "3", "sex": "1", "weight": "65"}},
])
print(project.pk)
"""


def _draft_csv() -> str:
    """The draft: code 3 of `sex` removed, `weight` renamed `body_weight`."""
    rows = [
        FieldRow(field_name="record_id", form_name="visit", field_label="Record ID"),
        FieldRow(
            field_name="sex",
            form_name="visit",
            field_type="radio",
            field_label="Sex",
            select_choices_or_calculations="1, Male | 2, Female",
        ),
        FieldRow(field_name="body_weight", form_name="visit", field_label="Weight (kg)"),
    ]
    return "".join(iter_dictionary_csv(rows))


STATE = """
import json
from opencrf.audit.models import AuditEvent
from opencrf.projects.models import Project
from opencrf.records.models import FormData
project = Project.objects.get(pk={project_id})
applied = AuditEvent.objects.filter(project_id=project.pk, action="draft.apply").first()
print(json.dumps({{
    "status": project.status,
    "values": {{f.record.record_id: f.values for f in FormData.objects.filter(project=project)}},
    "fields": list(project.fields.values_list("field_name", flat=True)),
    "kept": applied.changes["kept_values"] if applied else None,
    "source": project.revisions.order_by("-number").first().source,
}}))
"""


@pytest.fixture(scope="module")
def designer(server_data_dir: str) -> tuple[str, str, int]:
    tag = secrets.token_hex(3)
    username, password = f"designer_{tag}", secrets.token_urlsafe(16)
    script = SETUP.format(username=username, password=password, tag=tag)
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", script)
    return username, password, int(out.strip().splitlines()[-1])


def server_state(data_dir: str, project_id: int) -> dict[str, Any]:
    out = run_opencrf(data_dir, "manage", "shell", "-c", STATE.format(project_id=project_id))
    return json.loads(out.strip().splitlines()[-1])


def _admin_page(browser: Any, server_url: str, credentials: tuple[str, str]) -> Any:
    context = browser.new_context(base_url=server_url, locale="en-US")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    log_in(page, credentials)
    return page


def _change_row(page: Any, kind: str, field: str) -> Any:
    return page.locator(f'tr[data-kind="{kind}"][data-field="{field}"]')


def test_a_production_draft_that_orphans_data_is_approved_and_keeps_every_value(
    page: Any,
    browser: Any,
    server_url: str,
    designer: tuple[str, str, int],
    admin_credentials: tuple[str, str],
    server_data_dir: str,
) -> None:
    username, password, project_id = designer
    before = server_state(server_data_dir, project_id)["values"]
    log_in(page, (username, password))

    page.goto(f"/projects/{project_id}/status/")
    page.get_by_test_id("reason-production").fill("Ethics approval received")
    page.get_by_test_id("move-production").click()
    expect(page.get_by_test_id("pending-status-request")).to_be_visible()

    admin = _admin_page(browser, server_url, admin_credentials)
    admin.goto("/control/approvals/")
    expect(admin.get_by_test_id("pending-status-requests")).to_contain_text(
        "Ethics approval received"
    )
    admin.goto(f"/projects/{project_id}/status/")
    admin.get_by_test_id("approve-status-request").click()
    expect(admin.get_by_test_id("project-status")).to_contain_text("Production")

    page.goto(f"/projects/{project_id}/design/draft/")
    page.get_by_test_id("enter-draft").click()
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "draft.csv", "mimeType": "text/csv", "buffer": _draft_csv().encode()}]
    )
    page.get_by_test_id("draft-upload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review the draft")

    code = _change_row(page, "code_removed", "sex")
    expect(code.locator("td").first).to_have_text("critical")
    expect(code.locator("td.records")).to_have_text("2")
    expect(code).to_contain_text("1, 2")
    renamed = _change_row(page, "field_removed", "weight")
    expect(renamed.locator("td").first).to_have_text("critical")
    expect(renamed.locator("td.records")).to_have_text("3")
    expect(_change_row(page, "field_added", "body_weight").locator("td").first).to_have_text("safe")
    page.get_by_test_id("draft-submit").click()
    expect(page.get_by_test_id("draft-state")).to_contain_text("awaiting approval")

    admin.goto("/control/approvals/")
    admin.get_by_test_id("pending-drafts").get_by_role("link").first.click()
    admin.get_by_label("Comment (required to reject)").fill("Orphaned values stay stored")
    admin.get_by_test_id("draft-approve").click()
    expect(admin.get_by_text("The draft was approved and applied.")).to_be_visible()
    admin.context.close()

    state = server_state(server_data_dir, project_id)
    assert state["status"] == "production"
    assert state["fields"] == ["record_id", "sex", "body_weight"]
    assert state["values"] == before
    assert state["kept"] == {"sex": 2, "weight": 3}
    assert state["source"] == "draft"
