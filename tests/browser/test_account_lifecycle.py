"""The account lifecycle in Chromium: request an account, approval, activation, first login,
two-factor enrolment and a login with a code."""

from __future__ import annotations

import email
import email.policy
import re
import secrets
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_journeys import AUTHENTICATOR, log_in, next_code

pytestmark = pytest.mark.browser

ACTIVATION_PATH = re.compile(r"/accounts/activate/[\w-]+/")


def _mail_to(tmp_path_factory: pytest.TempPathFactory, address: str) -> list[str]:
    """Bodies of the messages the server wrote to its mail folder (no SMTP host) for `address`."""
    bodies = []
    for path in sorted(tmp_path_factory.getbasetemp().glob("browser-server*/data/mail/*")):
        for raw in re.split(rb"\n-{79}\n", path.read_bytes()):
            message = email.message_from_bytes(raw.strip(), policy=email.policy.default)
            if address in str(message.get("To", "")):
                bodies.append(str(message.get_body(preferencelist=("plain",)).get_content()))
    return bodies


def _activation_path(tmp_path_factory: pytest.TempPathFactory, address: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for body in _mail_to(tmp_path_factory, address):
            found = ACTIVATION_PATH.search(body)
            if found:
                return found.group(0)
        time.sleep(0.5)
    raise AssertionError(f"No activation e-mail for {address}")


def test_request_approve_activate_and_log_in(
    page: Any, browser: Any, server_url: str, admin_credentials, tmp_path_factory
) -> None:
    username = f"hana_{secrets.token_hex(3)}"
    address = f"{username}@partner.example.jp"

    page.goto("/accounts/login/")
    page.get_by_role("link", name="Request an account").click()
    page.get_by_label("Family name").fill("Tanaka")
    page.get_by_label("Given name").fill("Hana")
    page.get_by_label("E-mail address").fill(address)
    page.get_by_label("Institution").fill("Partner Hospital <b>B</b>")
    page.get_by_label("Purpose of use").fill("Data entry at site B.")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_test_id("request-sent")).to_be_visible()

    admin = browser.new_context(base_url=server_url, locale="en-US").new_page()
    log_in(admin, admin_credentials)
    admin.get_by_role("link", name="Control centre").click()
    admin.get_by_role("link", name="Account requests").click()
    row = admin.get_by_test_id("pending-requests").get_by_role("row").filter(has_text=address)
    expect(row).to_contain_text("Partner Hospital <b>B</b>")
    row.get_by_role("link").click()
    admin.get_by_label("User name").fill(username)
    admin.get_by_role("button", name="Approve and send the activation e-mail").click()
    expect(admin.get_by_role("heading", level=2)).to_contain_text(username)
    admin.context.close()

    page.goto(_activation_path(tmp_path_factory, address))
    password = secrets.token_urlsafe(16)
    page.locator("#id_new_password1").fill(password)
    page.locator("#id_new_password2").fill(password)
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")

    log_in(page, (username, password))
    expect(page.get_by_role("heading", level=1)).to_have_text("My Projects")
    page.get_by_role("link", name="New project").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request a project")

    # The new user turns on two-factor authentication, then logs in again with a code.
    page.goto("/accounts/me/")
    page.get_by_role("link", name="Set up two-factor authentication").click()
    # Just logged in: the password was confirmed moments ago, so no second confirmation.
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor authentication")
    AUTHENTICATOR[username] = (page.get_by_test_id("totp-secret").inner_text(), -1)
    page.get_by_label("Code").fill(next_code(username))
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("link", name=re.compile("continue")).click()
    page.get_by_role("button", name="Log out", exact=True).click()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
    page.get_by_label("Code").fill(next_code(username))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My Projects")
