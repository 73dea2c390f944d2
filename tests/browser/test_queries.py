"""A monitor opens a query on a value, the site's coordinator changes the value and answers,
the monitor closes the query; the query dashboard (when there is one) counts it as closed.

A copy of the demo study is loaded into the running server, set to use the data resolution
workflow. Screenshots of the thread in English and Japanese go to OPENCRF_SHOTS when set.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import expect

from tests.browser.conftest import fresh_demo_code, run_opencrf
from tests.browser.test_journeys import AUTHENTICATOR, log_in

pytestmark = pytest.mark.browser

SETUP = """
from opencrf.accounts.models import User
from opencrf.accounts.two_factor import totp_enrolment_start, totp_secret_base32
from opencrf.projects.models import ProjectMember
project.field_notes = "resolution"
project.save(update_fields=["field_notes"])
def person(username, group, resolution, forms):
    user = User.objects.create_user(username=username, password="{password}")
    ProjectMember.objects.create(
        project=project, user=user, data_resolution=resolution,
        group=project.groups.get(unique_name=group) if group else None,
        form_rights={{i.name: forms for i in project.instruments.all()}},
    )
    device = totp_enrolment_start(user)
    device.confirmed = True
    device.save()
    print(totp_secret_base32(device))
person("{monitor}", "", "open_close_respond", "read")
person("{site}", "toto_univ", "respond", "edit")
print(project.pk)
"""
COMMENT_LOG = """
project.field_notes = "comment_log"
project.save(update_fields=["field_notes"])
"""
RECORD = "1-2"  # Toto University Hospital's second participant, 71.8 kg at baseline
FORM = "baseline_arm_1/baseline/1"


@pytest.fixture(scope="module")
def cast(server_data_dir: str) -> dict[str, Any]:
    monitor, site = f"mo_{secrets.token_hex(3)}", f"sam_{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(16)
    code = fresh_demo_code("Queries WALK") + SETUP.format(
        password=password, monitor=monitor, site=site
    )
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", code)
    *_printed, monitor_secret, site_secret, project_id = out.strip().splitlines()
    AUTHENTICATOR[monitor] = (monitor_secret, -1)
    AUTHENTICATOR[site] = (site_secret, -1)
    return {"monitor": (monitor, password), "site": (site, password), "project": int(project_id)}


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    if shots := os.environ.get("OPENCRF_SHOTS"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def _as(browser: Any, server_url: str, credentials: tuple[str, str]) -> Any:
    context = browser.new_context(base_url=server_url, locale="en-US")
    page = context.new_page()
    log_in(page, credentials, fresh=True)
    return page


def test_a_monitor_opens_a_query_the_site_answers_and_the_monitor_closes_it(
    browser: Any, server_url: str, cast: dict[str, Any], tmp_path: Path
) -> None:
    project_id = cast["project"]
    form = f"/projects/{project_id}/records/{RECORD}/{FORM}/"
    site_name = cast["site"][0]

    # The monitor opens a query from the balloon beside the weight.
    monitor = _as(browser, server_url, cast["monitor"])
    monitor.goto(form)
    monitor.get_by_test_id("note-mark-weight").click()
    opening = monitor.get_by_test_id("open-query")
    opening.get_by_label("Category").select_option("source")
    opening.get_by_label("Assign to (optional)").select_option(label=site_name)
    opening.get_by_label("Query").fill("The source says 72.8 kg. Please check.")
    opening.get_by_test_id("open-query-submit").click()
    query = monitor.get_by_test_id("query")
    expect(query.get_by_test_id("query-status")).to_have_text("Open")
    expect(query.get_by_test_id("step-value")).to_have_text("71.8")
    query_path = f"/projects/{project_id}/quality/queries/{query.get_attribute('data-query')}/"

    # The coordinator sees a red balloon, corrects the value and answers.
    site = _as(browser, server_url, cast["site"])
    site.goto(form)
    mark = site.get_by_test_id("query-mark-weight")
    expect(mark).to_have_attribute("data-status", "open")
    expect(mark).to_have_class(re.compile("text-bg-danger"))
    mark.scroll_into_view_if_needed()
    _shot(site, tmp_path, "queries-form-balloon-en")
    site.locator("#crf-entry #f-weight").fill("72.8")
    site.get_by_role("button", name="Save & Stay").click()
    expect(site.locator(".messages .alert-success")).to_have_text("Your changes were saved.")
    site.get_by_test_id("query-mark-weight").click()
    actions = site.get_by_test_id("query-actions")
    actions.get_by_label("Action").select_option("respond")
    actions.get_by_label("Response category (for a response)").select_option("updated")
    actions.get_by_label("Comment (required for a response or a reopening)").fill(
        "Corrected from the clinic chart."
    )
    actions.get_by_test_id("query-step-submit").click()
    expect(site.get_by_test_id("query-status")).to_have_text("Responded")
    expect(site.get_by_test_id("step-value").last).to_have_text("72.8")

    # The monitor closes it from the query's own page.
    monitor.goto(query_path)
    expect(monitor.get_by_test_id("query-step")).to_have_count(2)
    actions = monitor.get_by_test_id("query-actions")
    actions.get_by_label("Action").select_option("close")
    actions.get_by_label("Comment (required for a response or a reopening)").fill("Thank you.")
    actions.get_by_test_id("query-step-submit").click()
    expect(monitor.get_by_test_id("query-status")).to_have_text("Closed")
    expect(monitor.get_by_test_id("query-step")).to_have_count(3)
    _shot(monitor, tmp_path, "queries-thread-en")
    monitor.locator(".language-switch").get_by_role("button", name="日本語").click()
    expect(monitor.get_by_test_id("query-step")).to_have_count(3)
    _shot(monitor, tmp_path, "queries-thread-ja")
    monitor.locator(".language-switch").get_by_role("button", name="English").click()
    monitor.goto(form)
    expect(monitor.get_by_test_id("query-mark-weight")).to_have_attribute("data-status", "closed")

    # The dashboard (another part of the feature) counts it, when it is there.
    try:
        dashboard = reverse("quality:queries", args=[project_id])
    except NoReverseMatch:
        return
    monitor.goto(dashboard)
    expect(monitor.get_by_test_id("count-closed")).to_have_text("1")
    expect(monitor.locator(f'a[href^="{query_path}"]').first).to_be_visible()
    _shot(monitor, tmp_path, "queries-dashboard-en")
    site.context.close()
    monitor.context.close()


def test_a_coordinator_keeps_a_comment_on_a_field_and_its_balloon_counts_it(
    browser: Any, server_url: str, server_data_dir: str, tmp_path: Path
) -> None:
    site = f"cora_{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(16)
    code = fresh_demo_code("Comments WALK") + SETUP.format(
        password=password, monitor=f"mo_{secrets.token_hex(3)}", site=site
    )
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", code + COMMENT_LOG)
    *_printed, _monitor_secret, site_secret, project_id = out.strip().splitlines()
    AUTHENTICATOR[site] = (site_secret, -1)
    page = _as(browser, server_url, (site, password))
    form = f"/projects/{project_id}/records/{RECORD}/{FORM}/"

    page.goto(form)
    page.get_by_test_id("note-mark-weight").click()
    page.get_by_label("Add a comment").fill("Weighed with shoes on <b>twice</b>.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_test_id("comment-text")).to_have_text("Weighed with shoes on <b>twice</b>.")
    _shot(page, tmp_path, "comments-thread-en")
    page.goto(form)
    expect(page.get_by_test_id("comment-mark-weight")).to_have_text("1")
    page.locator(".language-switch").get_by_role("button", name="日本語").click()
    page.get_by_test_id("comment-mark-weight").scroll_into_view_if_needed()
    _shot(page, tmp_path, "comments-form-ja")
    page.locator(".language-switch").get_by_role("button", name="English").click()
    page.context.close()
