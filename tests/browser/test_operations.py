"""Maintenance mode in Chromium: the administrator switches it on, a user is refused, and back.

The administrator turns maintenance mode on from the control centre with a message; a user
(another browser context) signs in, sees the banner, and a save is refused with the message;
the administrator turns it off and the same save goes through.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ACTION_TIMEOUT_MS, run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

REFUSAL = "OpenCRF is in maintenance mode: changes are not accepted until it ends."
MESSAGE = "Upgrade in progress; back by 18:00."
# Other server processes keep the switch for a few seconds (ops.maintenance.KEEP_SECONDS).
BANNER_WAIT_SECONDS = 20.0

CREATE_USER = """
from opencrf.accounts.models import User
User.objects.create_user(username="{username}", password="{password}", may_create_projects=True)
"""


@pytest.fixture
def user_credentials(server_data_dir: str) -> tuple[str, str]:
    username, password = f"reader_{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    run_opencrf(
        server_data_dir,
        "manage",
        "shell",
        "-c",
        CREATE_USER.format(username=username, password=password),
    )
    return username, password


@pytest.fixture
def user_page(browser: Any, server_url: str) -> Iterator[Any]:
    """A second person, in a browser context of their own."""
    context = browser.new_context(
        base_url=server_url, locale="en-US", viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def maintenance_left_off(server_data_dir: str) -> Iterator[None]:
    """Whatever happens, the shared test server leaves this test accepting changes."""
    yield
    run_opencrf(server_data_dir, "maintenance", "off")


def wait_for_banner(page: Any, *, shown: bool) -> None:
    """Reload until the banner is shown (or gone): other processes may hold an older copy."""
    banner = page.locator("[data-banner=maintenance_mode]")
    deadline = time.monotonic() + BANNER_WAIT_SECONDS
    while (banner.count() > 0) != shown:
        assert time.monotonic() < deadline, f"the maintenance banner is still {not shown}"
        time.sleep(1)
        page.reload()


def open_new_project_form(page: Any, title: str) -> None:
    page.goto("/projects/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("New project")
    page.get_by_label("Project title").fill(title)
    page.get_by_role("radio", name=re.compile("^Classic:")).check()


def test_an_administrator_puts_the_site_in_maintenance_and_a_save_is_refused(
    page, user_page, admin_credentials, user_credentials, maintenance_left_off
):
    log_in(page, admin_credentials)
    page.goto("/control/")
    page.get_by_role("navigation", name="Control centre").get_by_role(
        "link", name="Operations"
    ).click()
    expect(page.get_by_role("heading", level=2, name="Operations")).to_be_visible()
    expect(page.get_by_test_id("maintenance-mode-state")).to_contain_text("Off")
    page.get_by_label("Message shown with the banner").fill(MESSAGE)
    page.get_by_role("button", name="Turn maintenance mode on").click()

    expect(page.locator(".messages")).to_contain_text("Maintenance mode is on")
    expect(page.get_by_test_id("maintenance-mode-state")).to_contain_text("On")
    expect(page.locator("[data-banner=maintenance_mode]")).to_have_text(f"{REFUSAL} {MESSAGE}")

    # A user can still sign in and read, sees the banner, and cannot save.
    log_in(user_page, user_credentials)
    wait_for_banner(user_page, shown=True)
    expect(user_page.locator("[data-banner=maintenance_mode]")).to_have_text(f"{REFUSAL} {MESSAGE}")
    open_new_project_form(user_page, "Refused study")
    with user_page.expect_response(re.compile(r"/projects/new/$")) as answer:
        user_page.get_by_role("button", name="Create project").click()
    assert answer.value.status == 503
    expect(user_page.get_by_test_id("maintenance-refusal")).to_have_text(REFUSAL)
    expect(user_page.get_by_test_id("maintenance-message")).to_have_text(MESSAGE)
    user_page.goto("/projects/")
    expect(user_page.locator("main")).not_to_contain_text("Refused study")

    # The administrator ends it; the same save now goes through.
    page.get_by_role("button", name="Turn maintenance mode off").click()
    expect(page.locator(".messages")).to_contain_text("Maintenance mode is off")
    expect(page.locator("[data-banner=maintenance_mode]")).to_have_count(0)

    wait_for_banner(user_page, shown=False)
    open_new_project_form(user_page, "Accepted study")
    user_page.get_by_role("button", name="Create project").click()
    expect(user_page).to_have_url(re.compile(r"/projects/\d+/$"))
    expect(user_page.get_by_role("heading", level=1)).to_have_text("Accepted study")
