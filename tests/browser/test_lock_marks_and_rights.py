"""Locks on the record home page and the dashboard, and the data resolution right, in Chromium.

A copy of the demo study has one locked form and one locked record; the pages show lock icons
whose titles say who locked and when. A manager gives a member a data resolution right on the
rights page and sees it in the member list. Screenshots in both languages go to OPENCRF_SHOTS
when set.
"""

from __future__ import annotations

import os
import re
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
from opencrf.audit.services import AuditContext
from opencrf.projects.models import ProjectMember, RIGHT_FLAGS
from opencrf.records.locking import form_lock, record_lock
from opencrf.records.models import Record
user = User.objects.create_user(username="{username}", password="{password}",
                                first_name="Lena", last_name="Locker")
ProjectMember.objects.create(
    project=project, user=user, **dict.fromkeys(RIGHT_FLAGS, True),
    data_resolution="open_close_respond",
    form_rights={{i.name: "edit" for i in project.instruments.all()}},
)
User.objects.create_user(username="{member}", password="{password}")
context = AuditContext(actor=user, source="system")
first = Record.objects.get(project=project, record_id="1-1")
form_lock(context=context, record=first, event=project.events.get(unique_name="screening_arm_1"),
          form_name="enrolment", reason="Verified")
record_lock(context=context, record=Record.objects.get(project=project, record_id="1-2"))
print(project.pk)
"""


@pytest.fixture(scope="module")
def locker(server_data_dir: str) -> tuple[str, str, str, int]:
    username, password = f"lock_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    member = f"mon_{secrets.token_hex(3)}"
    code = fresh_demo_code("LOCKMARKS") + SETUP.format(
        username=username, password=password, member=member
    )
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", code)
    return username, password, member, int(out.strip().splitlines()[-1])


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    if shots := os.environ.get("OPENCRF_SHOTS"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def _both_languages(page: Any, tmp_path: Path, name: str) -> None:
    _shot(page, tmp_path, f"{name}-en")
    page.locator(".language-switch").get_by_role("button", name="日本語").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    _shot(page, tmp_path, f"{name}-ja")
    page.locator(".language-switch").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_locks_show_on_the_record_home_page_and_the_dashboard(
    page: Any, locker: tuple[str, str, str, int], tmp_path: Path
) -> None:
    username, password, _member, project_id = locker
    log_in(page, (username, password))

    page.goto(f"/projects/{project_id}/records/1-1/")
    icon = page.get_by_test_id("event-grid").get_by_test_id("lock-icon")
    expect(icon).to_have_count(1)
    expect(icon).to_have_attribute("title", _starts("Locked by Lena Locker at "))
    _both_languages(page, tmp_path, "lock-record-home")

    page.goto(f"/projects/{project_id}/records/")
    row = page.locator('tr[data-record="1-1"]')
    expect(row.get_by_test_id("lock-icon")).to_have_count(1)
    locked_row = page.locator('tr[data-record="1-2"]')
    expect(locked_row.get_by_test_id("record-lock-icon")).to_have_attribute(
        "title", _starts("The whole record is locked by Lena Locker at ")
    )
    _both_languages(page, tmp_path, "lock-dashboard")


def test_a_manager_gives_a_data_resolution_right(
    page: Any, locker: tuple[str, str, str, int], tmp_path: Path
) -> None:
    username, password, member, project_id = locker
    log_in(page, (username, password))
    page.goto(f"/projects/{project_id}/rights/")
    page.get_by_label("Add a user by exact username").fill(member)
    page.get_by_role("button", name="Add user").click()

    _both_languages(page, tmp_path, "rights-member-resolution")  # a language switch reloads
    page.get_by_label("Data resolution workflow (queries)").select_option("open_respond")
    page.get_by_role("button", name="Save rights").click()

    expect(page.get_by_test_id(f"member-{member}")).to_contain_text(
        "Queries: Open and respond to queries"
    )
    _both_languages(page, tmp_path, "rights-list-resolution")


def _starts(prefix: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(prefix))
