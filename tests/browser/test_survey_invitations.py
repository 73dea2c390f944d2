"""A record-specific invitation, end to end against a real server: a coordinator composes it
for a chosen time, the send job delivers it to a real local SMTP server, the participant opens
its link on a phone, answers half, saves, resumes with the return code on another browser and
completes (opening the link from the mail's HTML part, as a mail reader shows it); the
invitation log then shows it as responded.

The invitation is scheduled a year ahead, and the send job is run for that time in a process of
its own pointed at the SMTP server (the server's own worker, without SMTP, never sees it due).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from opencrf.testing.smtp import Inbox
from tests.browser.conftest import ACTION_TIMEOUT_MS, fresh_demo_code, run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SETUP = """
from opencrf.projects.models import Event
from opencrf.records.models import Record
from opencrf.records.services import form_save
from opencrf.surveys.models import Survey
from opencrf.surveys.services import survey_disable, survey_enable
project.surveys_enabled = True
project.save(update_fields=["surveys_enabled"])
shipped = Survey.objects.filter(project=project, form_name="quality_of_life").first()
if shipped is not None:
    survey_disable(context=context, survey=shipped)
survey = survey_enable(
    context=context, project=project, form_name="quality_of_life",
    title="生活の質 / Quality of life", save_and_return=True,
    completion_text="ご回答ありがとうございました。 / Thank you.",
)
event = Event.objects.get(project=project, unique_name="baseline_arm_1")
form_save(
    context=context, record=Record.objects.get(project=project, record_id="1-1"), event=event,
    form_name="baseline", values={"baseline_notes": "participant-1-1@example.org"},
    base_version=None, reason="browser test",
)
print(json.dumps({"project": project.pk, "survey": survey.pk, "event": event.pk}))
"""

SEND = """
from datetime import UTC, datetime
from opencrf.surveys.invitation_jobs import invitations_send_due
report = invitations_send_due(now=datetime({year}, 12, 2, 0, 0, tzinfo=UTC))
print(report.sent, report.failed)
"""

PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def study(server_data_dir: str) -> dict[str, int]:
    code = fresh_demo_code(f"Survey invitations {os.getpid()}") + "\nimport json\n" + SETUP
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", code)
    return dict(json.loads(out.strip().splitlines()[-1]))


@pytest.fixture
def inbox() -> Any:
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


def _send(data_dir: str, server_url: str, port: int, year: int) -> str:
    """Run the send job for the scheduled time, with SMTP pointed at the test's server."""
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
        [sys.executable, "-m", "opencrf", "manage", "shell", "-c", SEND.format(year=year)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def _phone(browser: Any, server_url: str) -> Any:
    context = browser.new_context(
        base_url=server_url, locale="ja-JP", viewport=PHONE, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    folder = os.environ.get("OPENCRF_SCREENSHOTS", "")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_an_invitation_by_e_mail_is_answered_half_saved_resumed_and_completed(
    page: Any,
    browser: Any,
    server_url: str,
    server_data_dir: str,
    admin_credentials: tuple[str, str],
    study: dict[str, int],
    inbox: Any,
    tmp_path: Path,
) -> None:
    year = datetime.now(UTC).date().year + 1
    project = study["project"]
    log_in(page, admin_credentials)
    page.goto(
        f"/projects/{project}/surveys/invitations/compose/{study['survey']}/{study['event']}/"
    )
    page.get_by_label("Records").fill("1-1")
    page.get_by_label("Field with the record's e-mail address").select_option("baseline_notes")
    page.get_by_label("Subject").fill("<b>[survey-title]</b> for [record-name]")
    page.get_by_label("Send at a chosen time").check()
    page.get_by_label("Send at", exact=True).fill(f"{year}-12-01T09:00")
    page.get_by_label("Remind every N days").fill("3")
    page.get_by_label("Up to K reminders").fill("2")
    _shot(page, tmp_path, "invitation-compose")
    page.get_by_test_id("compose-send").click()
    expect(page.get_by_text("1 invitation was scheduled.")).to_be_visible()
    rows = page.get_by_test_id("invitation-row")
    expect(rows).to_have_count(3)  # the invitation and two reminders
    expect(rows.locator('[data-testid="invitation-status"]').first).to_have_text("Scheduled")

    messages, port = inbox
    assert _send(server_data_dir, server_url, port, year) == "1 0"
    [message] = messages.to("participant-1-1@example.org")
    assert str(message["Subject"]).strip() == "<b>生活の質 / Quality of life</b> for 1-1"
    body = Inbox.body(message)
    [link] = re.findall(r"http://\S+/surveys/s/[\w-]{43}/", body)
    assert link.startswith(server_url)
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None  # the same text as HTML, its link clickable
    html = str(html_part.get_content())

    context = _phone(browser, server_url)
    phone = context.new_page()
    try:
        phone.set_content(html)
        phone.get_by_role("link", name=link).click()
        phone.wait_for_url(link)
        expect(phone.get_by_test_id("survey-title")).to_have_text("生活の質 / Quality of life")
        phone.locator("input[name=qol_energy][value='4']").check()
        phone.locator("input[name=qol_walking][value='3']").check()
        phone.get_by_test_id("survey-save-return").click()
        code = phone.get_by_test_id("return-code").inner_text().strip()
        _shot(phone, tmp_path, "invitation-saved")
    finally:
        context.close()

    context = _phone(browser, server_url)
    phone = context.new_page()
    try:
        phone.goto(link)
        phone.locator("#return-code").fill(code)
        phone.get_by_test_id("return-continue").click()
        expect(phone.locator("input[name=qol_energy][value='4']")).to_be_checked()
        date_input = phone.locator("#f-qol_date")
        if date_input.count() and not date_input.input_value():
            date_input.fill(datetime.now(UTC).date().isoformat())
        for name, value in (("qol_mood", "4"), ("qol_burden", "2"), ("qol_sleep", "5")):
            phone.locator(f"input[name={name}][value='{value}']").check()
        phone.get_by_test_id("survey-submit").click()
        expect(phone.get_by_test_id("completion-text")).to_contain_text("Thank you.")
        _shot(phone, tmp_path, "invitation-completed")
    finally:
        context.close()

    page.goto(f"/projects/{project}/surveys/invitations/?status=responded")
    expect(page.get_by_test_id("invitation-row")).to_have_count(1)
    expect(page.get_by_test_id("invitation-status")).to_have_text("Responded")
    _shot(page, tmp_path, "invitation-log")
    page.goto(f"/projects/{project}/surveys/invitations/?status=scheduled")
    expect(page.get_by_test_id("invitation-row")).to_have_count(0)
    # The two reminders were cancelled when the response was completed.
    page.goto(f"/projects/{project}/surveys/invitations/?status=cancelled")
    expect(page.get_by_test_id("invitation-row")).to_have_count(2)
