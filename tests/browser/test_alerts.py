"""An alert end to end against a real server: the administrator creates an SAE alert on the
Alerts & Notifications page, saves a serious adverse event on the data entry page, and the
send job delivers the mail with the record's data piped to a real local SMTP server; the
notification log then shows it sent.

The alert waits a year (its delay), and the send job is run for that time in a process of its
own pointed at the SMTP server (the server's own worker, without SMTP, never sees it due).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from opencrf.testing.smtp import Inbox
from tests.browser.conftest import fresh_demo_code, run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

YEAR_MINUTES = 365 * 24 * 60
SEND = """
from datetime import timedelta
from django.utils import timezone
from opencrf.alerts.jobs import notifications_send_due
report = notifications_send_due(now=timezone.now() + timedelta(days=366))
print(report.sent, report.failed)
"""


@pytest.fixture(scope="module")
def project(server_data_dir: str) -> int:
    code = fresh_demo_code(f"Alerts {os.getpid()}") + "\nprint(project.pk)\n"
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", code)
    return int(out.strip().splitlines()[-1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    found = Inbox()
    controller = Controller(found, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield found, port
    finally:
        controller.stop()


def _send(data_dir: str, server_url: str, port: int) -> str:
    """Run the send job a year ahead, with SMTP pointed at the test's server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCRF_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        OPENCRF_DATA_DIR=data_dir,
        OPENCRF_HTTPS="false",
        OPENCRF_SECRET_KEY="x" * 50,
        OPENCRF_SMTP_HOST="127.0.0.1",
        OPENCRF_SMTP_PORT=str(port),
        OPENCRF_SMTP_TLS="none",
        OPENCRF_MAIL_FROM="edc@example.ac.jp",
        OPENCRF_SITE_URL=server_url,
    )
    done = subprocess.run(
        [sys.executable, "-m", "opencrf", "manage", "shell", "-c", SEND],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    folder = os.environ.get("OPENCRF_SCREENSHOTS", "")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_an_sae_alert_is_created_fired_by_a_form_save_and_delivered_with_piped_text(
    page: Any,
    server_url: str,
    server_data_dir: str,
    admin_credentials: tuple[str, str],
    project: int,
    inbox: tuple[Inbox, int],
    tmp_path: Path,
) -> None:
    log_in(page, admin_credentials)
    page.goto(f"/projects/{project}/alerts/")
    expect(page.get_by_test_id("no-alerts")).to_be_visible()
    page.get_by_test_id("alert-new").click()
    page.get_by_label("Title").fill("SAE report")
    page.get_by_label("Form", exact=True).select_option("adverse_event")
    page.get_by_label("Condition (optional)").fill("[ae_serious] = '1'")
    page.get_by_label("Fixed addresses").fill("safety@example.org")
    page.get_by_label("Language of recipients who are not users").select_option("en")
    page.get_by_label("Subject (English)").fill("SAE at [data-access-group]: [record-name]")
    page.get_by_label("Message (English)").fill(
        "Record [record-name] reported [ae_term] (serious: [ae_serious]) at [event-name]."
    )
    page.get_by_label("Delay (minutes; 0: at once)").fill(str(YEAR_MINUTES))
    _shot(page, tmp_path, "alert-edit")
    page.get_by_test_id("alert-save").click()
    expect(page.locator(".messages .alert-success")).to_have_text("The alert was saved.")
    expect(page.get_by_test_id("alerts").locator("tbody tr")).to_have_count(1)

    page.goto(f"/projects/{project}/records/1-1/week_12_arm_1/adverse_event/3/")
    page.locator("#f-ae_term").fill("脳梗塞 / Stroke")
    page.locator("input[name=ae_serious][value='1']").check()
    page.get_by_role("button", name="Save & Stay").click()
    expect(page.locator(".messages .alert-success").first).to_be_visible()

    page.goto(f"/projects/{project}/alerts/log/")
    rows = page.get_by_test_id("notifications").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.get_by_test_id("status")).to_have_text("Scheduled")

    messages, port = inbox
    assert _send(server_data_dir, server_url, port) == "1 0"
    [message] = messages.to("safety@example.org")
    assert str(message["Subject"]) == "SAE at toto_univ: 1-1"
    assert Inbox.body(message).strip() == (
        "Record 1-1 reported 脳梗塞 / Stroke (serious: Yes) at week_12_arm_1."
    )

    page.reload()
    expect(rows.get_by_test_id("status")).to_have_text("Sent")
    expect(rows).to_contain_text("safety@example.org")
    _shot(page, tmp_path, "alert-log")
