"""A participant answers a public survey to the end: in Japanese on a 360×740 phone, and on a
desktop; and saves half of it, then comes back with the return code.

A copy of the demo study of its own is loaded into the running server, with its enrolment form
as a public survey of one section per page (consent, eligibility, allocation) whose branching
logic and calculation run live, and the quality-of-life survey in the survey queue once
enrolment is completed. Screenshots are kept in the test's folder (printed), and in
$OPENCRF_SHOTS when set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ACTION_TIMEOUT_MS, fresh_demo_code, run_opencrf

pytestmark = pytest.mark.browser

SETUP = """
from opencrf.surveys.services import survey_enable
survey = survey_enable(
    context=context, project=project, form_name="enrolment", title="研究参加のお申し込み",
    instructions="あなたの回答は研究にのみ使います。 / Your answers are used only for the study.",
    paging="sections", save_and_return=True,
    completion_text="ご回答ありがとうございました、[initials] さん。 / Thank you, [initials].",
)
from opencrf.surveys.models import Survey
from opencrf.surveys.services import survey_update
qol = Survey.objects.filter(project=project, form_name="quality_of_life").first()
qol = qol or survey_enable(context=context, project=project, form_name="quality_of_life")
survey_update(context=context, survey=qol, queue_enabled=True, queue_after="enrolment")
print(survey.public_token)
"""

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(scope="module")
def public_token(server_data_dir: str) -> str:
    title = f"Survey browser test {secrets.token_hex(3)}"
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", fresh_demo_code(title) + SETUP)
    return out.strip().splitlines()[-1]


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    shots = os.environ.get("OPENCRF_SHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)
    print(f"Screenshot: {path}")


def _participant(browser: Any, server_url: str, viewport: dict[str, int], locale: str) -> Any:
    context = browser.new_context(
        base_url=server_url,
        locale=locale,
        viewport=viewport,
        is_mobile=viewport["width"] < 500,
        has_touch=viewport["width"] < 500,
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context


def _fits(page: Any) -> None:
    """Nothing wider than the screen: no sideways scrolling on a phone."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


def _progress(page: Any, number: int) -> None:
    japanese = page.locator("html").get_attribute("lang") == "ja"
    text = f"{number} / 3 ページ" if japanese else f"Page {number} of 3"
    expect(page.get_by_test_id("survey-progress")).to_have_text(text)


def _answer_page_1(page: Any) -> None:
    _progress(page, 1)
    page.locator("#f-initials").fill("TY")
    page.locator("#f-dob").fill("1960-04-01")
    page.locator("input[name=sex][value='2']").check()


def _answer_to_the_end(page: Any, tmp_path: Path, name: str) -> None:
    page.get_by_test_id("survey-next").click()
    _progress(page, 2)
    calc = page.locator("#f-eligible")
    for n in range(5):
        page.locator(f"#f-incl-{n}").check()
    detail = page.locator("[data-field='excl_detail']")
    page.locator("input[name=excl_any][value='1']").check()
    expect(detail).to_be_visible()  # branching logic, live
    page.locator("input[name=excl_any][value='0']").check()
    expect(detail).to_be_hidden()
    expect(calc).to_have_value("1")  # the calculation, live
    expect(page.locator("[data-field='inelig_reason']")).to_be_hidden()
    _shot(page, tmp_path, f"{name}-page-2")
    page.get_by_test_id("survey-next").click()
    _progress(page, 3)
    page.locator("input[name=rand_group][value='1']").check()
    _shot(page, tmp_path, f"{name}-page-3")
    page.get_by_test_id("survey-submit").click()
    expect(page.get_by_test_id("completion-text")).to_contain_text(
        "ご回答ありがとうございました、TY さん。"
    )
    # The survey queue: the questionnaire of each visit is now due.
    queue = page.get_by_test_id("queue-quality_of_life")
    expect(queue).to_have_count(3)
    _shot(page, tmp_path, f"{name}-done")


def _answer_the_matrix(page: Any) -> None:
    """The questionnaire's matrix: each answer a labelled choice to tap, the score live."""
    for name, code in (("energy", 4), ("walking", 3), ("mood", 5), ("burden", 2), ("sleep", 4)):
        page.locator(f"label[for='f-qol_{name}-{code - 1}']").click()
        expect(page.locator(f"#f-qol_{name}-{code - 1}")).to_be_checked()
    expect(page.locator("#f-qol_score")).to_have_value("20")


def test_a_public_survey_answered_to_the_end_in_japanese_on_a_phone(
    browser: Any, server_url: str, public_token: str, tmp_path: Path
) -> None:
    context = _participant(browser, server_url, PHONE, "ja-JP")
    page = context.new_page()
    try:
        page.goto(f"/surveys/p/{public_token}/")
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        expect(page.get_by_test_id("survey-title")).to_have_text("研究参加のお申し込み")
        expect(page.get_by_test_id("survey-instructions")).to_contain_text("あなたの回答")
        expect(page.locator("nav")).to_have_count(0)
        _fits(page)
        # Required questions left blank: the page comes back with the message.
        page.get_by_test_id("survey-next").click()
        expect(page.get_by_test_id("error-summary")).to_be_visible()
        expect(page.locator("#error-initials")).to_be_visible()
        _shot(page, tmp_path, "phone-ja-required")
        _answer_page_1(page)
        _shot(page, tmp_path, "phone-ja-page-1")
        box = page.locator("input[name=sex][value='2']").bounding_box()
        assert box is not None and box["width"] >= 24 and box["height"] >= 24
        button = page.get_by_test_id("survey-next").bounding_box()
        assert button is not None and button["height"] >= 44
        _answer_to_the_end(page, tmp_path, "phone-ja")
        _fits(page)
        page.get_by_test_id("queue-quality_of_life").first.get_by_role("link").click()
        _answer_the_matrix(page)
        _fits(page)
        _shot(page, tmp_path, "phone-ja-next-survey")
        page.get_by_test_id("survey-submit").click()
        expect(page.get_by_test_id("survey-done")).to_be_visible()
    finally:
        context.close()


def test_a_public_survey_answered_on_a_desktop_after_switching_to_english(
    browser: Any, server_url: str, public_token: str, tmp_path: Path
) -> None:
    context = _participant(browser, server_url, DESKTOP, "en-US")
    page = context.new_page()
    try:
        page.goto(f"/surveys/p/{public_token}/")
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        page.get_by_test_id("language-switch").get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_test_id("survey-next")).to_have_text("Next page")
        _answer_page_1(page)
        _shot(page, tmp_path, "desktop-en-page-1")
        _answer_to_the_end(page, tmp_path, "desktop-en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.get_by_test_id("queue-quality_of_life").first.get_by_role("link").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")  # the choice goes along
        _answer_the_matrix(page)
        _shot(page, tmp_path, "desktop-next-survey")
    finally:
        context.close()


def test_half_a_survey_saved_and_resumed_with_the_return_code(
    browser: Any, server_url: str, public_token: str, tmp_path: Path
) -> None:
    context = _participant(browser, server_url, PHONE, "ja-JP")
    page = context.new_page()
    try:
        page.goto(f"/surveys/p/{public_token}/")
        link = page.url
        _answer_page_1(page)
        page.get_by_test_id("survey-save-return").click()
        code = page.get_by_test_id("return-code").inner_text().strip()
        assert len(code) == 8
        expect(page.get_by_test_id("return-link")).to_have_text(link)
        _shot(page, tmp_path, "phone-ja-saved")
    finally:
        context.close()
    # Later, on another browser: the link asks for the return code first.
    context = _participant(browser, server_url, PHONE, "ja-JP")
    page = context.new_page()
    try:
        page.goto(link)
        expect(page.locator("#return-code")).to_be_visible()
        page.locator("#return-code").fill("WRONG123")
        page.get_by_test_id("return-continue").click()
        expect(page.locator("#return-error")).to_be_visible()
        _shot(page, tmp_path, "phone-ja-return")
        page.locator("#return-code").fill(code.lower())
        page.get_by_test_id("return-continue").click()
        expect(page.locator("#f-initials")).to_have_value("TY")
        expect(page.locator("input[name=sex][value='2']")).to_be_checked()
        _answer_to_the_end(page, tmp_path, "phone-ja-resumed")
        page.goto(link)
        expect(page.get_by_test_id("survey-message")).to_be_visible()  # completed: closed
    finally:
        context.close()
