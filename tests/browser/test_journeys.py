"""The main journeys, as a person takes them in Chromium against a real server."""

from __future__ import annotations

import csv
import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from conftest import SALT_RCT
from opencrf.testing.totp import current_step, totp_code

pytestmark = pytest.mark.browser

SALT_RCT_DICTIONARY = SALT_RCT / "dictionary.csv"
PROJECT_HOME = re.compile(r"/projects/(\d+)/$")


def salt_rct_fields() -> list[dict[str, str]]:
    with SALT_RCT_DICTIONARY.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# The administrator's authenticator secret, read off the enrolment page at the first login,
# and the last time step whose code was used (a code is accepted once: the next login must
# use a later step, waiting for it when the steps run ahead of the clock).
AUTHENTICATOR: dict[str, Any] = {}


def next_code(username: str) -> str:
    secret, used = AUTHENTICATOR[username]
    step = max(current_step(), used + 1)
    while step > current_step() + 1:  # the server accepts one step ahead, no more
        time.sleep(1)
    AUTHENTICATOR[username] = (secret, step)
    return totp_code(secret, step_number=step)


# Each user's signed-in cookies, kept after their first login in this process. A code is
# accepted once and a new one comes every 30 s, so logging in again in every test waited up to
# half a minute each time; later tests start signed in with these cookies instead (a fresh browser
# context each). A session that has ended (logged out, replaced) sends them through the login.
SESSIONS: dict[str, list[Any]] = {}


def log_in(page: Any, credentials: tuple[str, str], *, fresh: bool = False) -> None:
    """Log in through the pages: password, then the two-factor code (enrolling the first time).

    Once a user has logged in, later calls reuse that session unless `fresh` asks for a new one.
    """
    username, password = credentials
    if not fresh and _resume_session(page, username):
        return
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).not_to_have_text("Log in")
    if heading.inner_text() == "Set up two-factor authentication":
        AUTHENTICATOR[username] = (page.get_by_test_id("totp-secret").inner_text(), -1)
        page.get_by_label("Code").fill(next_code(username))
        page.get_by_role("button", name="Confirm and turn on").click()
        expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
        page.get_by_role("link", name=re.compile("continue")).click()
    elif heading.inner_text() == "Two-factor authentication":
        page.get_by_label("Code").fill(next_code(username))
        page.get_by_role("button", name="Verify").click()
    expect(heading).to_have_text("My Projects")
    SESSIONS[username] = page.context.cookies()


def _resume_session(page: Any, username: str) -> bool:
    """Whether the user's kept session still opens My Projects in this page's context."""
    if username not in SESSIONS:
        return False
    page.context.add_cookies(SESSIONS[username])
    page.goto("/projects/")
    if page.get_by_role("heading", level=1).inner_text() == "My Projects":
        return True
    page.context.clear_cookies()
    del SESSIONS[username]
    return False


def create_project(page: Any, title: str, *, longitudinal: bool) -> int:
    """From My Projects, create a project; returns its id, read off the project home URL."""
    page.locator("main").get_by_role("link", name="New project").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New project")
    page.get_by_label("Project title").fill(title)
    design = "Longitudinal" if longitudinal else "Classic"
    page.get_by_role("radio", name=re.compile(f"^{design}:")).check()
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(PROJECT_HOME)
    match = PROJECT_HOME.search(page.url)
    assert match is not None
    return int(match.group(1))


def open_dictionary_page(page: Any, project_id: int) -> None:
    page.get_by_role("navigation", name="Project pages").get_by_role(
        "link", name="Data dictionary", exact=True
    ).click()
    expect(page).to_have_url(re.compile(rf"/projects/{project_id}/design/dictionary/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Data dictionary")


def test_an_administrator_builds_a_longitudinal_project_from_the_salt_rct_dictionary(
    page, admin_credentials, tmp_path
):
    fields = salt_rct_fields()
    form_names = list(dict.fromkeys(row["Form Name"] for row in fields))
    assert len(fields) == 39
    assert form_names[0] == "screening"

    log_in(page, admin_credentials)
    project_id = create_project(page, "Browser study", longitudinal=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Browser study")
    expect(page.get_by_test_id("project-title")).to_have_text("Browser study")
    expect(page.locator("main")).to_contain_text("Longitudinal")

    open_dictionary_page(page, project_id)
    expect(page.locator("main")).to_contain_text("The project's dictionary has 0 fields.")
    page.get_by_label("Data dictionary (CSV)").set_input_files(str(SALT_RCT_DICTIONARY))
    page.get_by_role("button", name="Check and preview").click()

    expect(page.get_by_test_id("dictionary-ok")).to_be_visible()
    expect(page.get_by_test_id("added-count")).to_have_text(str(len(fields)))
    expect(page.get_by_test_id("removed-count")).to_have_text("0")
    expect(page.get_by_test_id("changed-count")).to_have_text("0")
    page.get_by_role("button", name="Apply these changes").click()

    expect(page).to_have_url(re.compile(rf"/projects/{project_id}/design/instruments/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Instruments")
    expect(page.get_by_role("status")).to_contain_text(
        "The data dictionary was saved as revision 1."
    )
    rows = page.get_by_test_id("instrument-table").locator("tbody tr")
    expect(rows).to_have_count(len(form_names))
    listed = [rows.nth(i).get_attribute("data-instrument") for i in range(len(form_names))]
    assert listed == form_names
    screening = page.locator("tr[data-instrument=screening]")
    expect(screening.locator("td").nth(1)).to_have_text("Screening")
    expect(screening.locator("td").nth(3)).to_have_text(
        str(sum(row["Form Name"] == "screening" for row in fields))
    )
    page.screenshot(path=str(tmp_path / "instruments.png"), full_page=True)

    screening.get_by_role("link", name="Preview").click()
    expect(page).to_have_url(re.compile(rf"/projects/{project_id}/design/instruments/screening/$"))
    expect(page.get_by_test_id("instrument-name")).to_have_text("screening")
    form = page.locator("div.crf")
    expect(form).to_contain_text("研究対象者ID / Study ID")
    expect(form).to_contain_text("同意取得日 / Date of informed consent")

    # Branching logic and calculations run live: `pregnant` shows only when
    # [sex] = '2' and [age] < 55, and age is calculated from the two dates.
    pregnant = form.locator("[data-field=pregnant]")
    expect(pregnant).to_be_hidden()
    form.get_by_label("女性 / Female").check()
    expect(pregnant).to_be_hidden()
    form.locator("#f-dob").fill("1990-05-01")
    form.locator("#f-consent_date").fill("2026-04-01")
    expect(form.locator("#f-age")).to_have_value("35")
    expect(pregnant).to_be_visible()
    form.get_by_label("男性 / Male").check()
    expect(pregnant).to_be_hidden()


def test_a_hostile_dictionary_is_refused_with_its_row_number_and_nothing_changes(
    page, admin_credentials, tmp_path
):
    header = SALT_RCT_DICTIONARY.read_text(encoding="utf-8-sig").splitlines()[0]
    hostile = tmp_path / "hostile.csv"
    hostile.write_text(
        f"{header}\n../etc,intake,,text,Escape,,,,,,,,,,,,,\n",
        encoding="utf-8",
    )

    log_in(page, admin_credentials)
    project_id = create_project(page, "Hostile upload", longitudinal=False)
    open_dictionary_page(page, project_id)
    page.get_by_label("Data dictionary (CSV)").set_input_files(str(hostile))
    page.get_by_role("button", name="Check and preview").click()

    expect(page.get_by_test_id("dictionary-problems")).to_be_visible()
    expect(page.get_by_test_id("dictionary-ok")).to_have_count(0)
    # Rows are numbered as a spreadsheet shows them: the header is row 1, ../etc is row 2.
    offending = page.locator("table.problems-table tbody tr").filter(
        has=page.locator("code", has_text="../etc")
    )
    expect(offending.first).to_be_visible()
    expect(offending.first.locator("td").first).to_have_text("2")
    expect(page.locator("main")).to_contain_text("The project's dictionary has 0 fields.")

    # Nothing was applied: the project still has no instruments.
    page.get_by_role("navigation", name="Project pages").get_by_role(
        "link", name="Instruments", exact=True
    ).click()
    expect(page.get_by_test_id("instrument-table")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("This project has no instruments yet.")


def test_the_language_switch_turns_the_interface_to_japanese_and_back(page):
    page.goto("/accounts/login/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")

    page.get_by_role("button", name="日本語").click()
    expect(html).to_have_attribute("lang", "ja")
    expect(page.get_by_role("button", name="日本語")).to_have_attribute("aria-current", "true")

    # The choice is remembered on the next page.
    page.goto("/accounts/login/")
    expect(html).to_have_attribute("lang", "ja")

    page.get_by_role("button", name="English").click()
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
