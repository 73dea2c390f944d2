"""Account security in Chromium: the idle warning, the account page and recovery codes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/opencrf-security-shots")


def test_the_idle_warning_offers_to_stay_signed_in(page: Any, admin_credentials) -> None:
    page.clock.install()
    log_in(page, admin_credentials)
    assert 1700 <= int(page.locator("body").get_attribute("data-session-seconds")) <= 1800

    page.clock.fast_forward("28:30")

    warning = page.get_by_test_id("session-warning")
    expect(warning).to_contain_text("You will be signed out soon because of inactivity.")
    with page.expect_response(re.compile(r"/accounts/keep-alive/$")) as answer:
        warning.get_by_role("button", name="Stay signed in").click()
    assert answer.value.status == 200
    assert answer.value.json()["seconds_left"] >= 1790
    expect(warning).to_have_count(0)


def test_the_account_page_shows_two_factor_and_gives_new_recovery_codes(
    page: Any, admin_credentials
) -> None:
    log_in(page, admin_credentials)
    page.goto("/accounts/me/")

    expect(page.get_by_test_id("two-factor-status")).to_contain_text(
        "On, with an authenticator app."
    )
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "me.png"), full_page=True)
    page.get_by_role("button", name="New recovery codes").click()

    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("link", name=re.compile("continue")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")


def test_moving_to_a_new_phone_shows_a_qr_code_and_the_key(page: Any, admin_credentials) -> None:
    log_in(page, admin_credentials)
    page.goto("/accounts/me/")
    page.get_by_role("link", name="Move to a new phone").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor authentication")
    qr = page.get_by_test_id("totp-qr")
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth > 0", qr.element_handle())
    assert re.fullmatch(r"[A-Z2-7]{32}", page.get_by_test_id("totp-secret").inner_text())
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "enrol.png"), full_page=True)
