"""Multi-language forms in Chromium: a bilingual form and survey shown in each language, chosen
by the browser's setting and by the switch, and a translation file uploaded on the Languages
page. The project is written in English (the base) and translated into Japanese.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_USERNAME, run_opencrf
from tests.browser.test_journeys import log_in

pytestmark = pytest.mark.browser

SETUP = """
from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.dictionary.translation_services import language_add
from opencrf.projects.services import project_create
from opencrf.records.services import record_create
from opencrf.surveys.services import response_link, survey_enable
admin = User.objects.get(username={admin!r})
context = AuditContext(actor=admin)
project = project_create(context=context, title={title!r})
project.surveys_enabled = True
project.save()
rows = [
    FieldRow("record_id", "wellbeing", field_label="Participant ID"),
    FieldRow("mood", "wellbeing", section_header="Today", field_type="radio",
             field_label="How do you feel?", select_choices_or_calculations="1, Good | 2, Bad",
             field_note="Pick one"),
    FieldRow("comment", "wellbeing", field_type="notes", field_label="Anything else?"),
]
dictionary_apply(context=context, project=project, rows=rows, source="upload")
language_add(context=context, project=project, code="en", display_name="English")
language_add(context=context, project=project, code="ja", display_name="日本語")
survey = survey_enable(context=context, project=project, form_name="wellbeing",
                       title="Wellbeing", language="en", language_switch=True)
record = record_create(context=context, project=project, record_id="1")
event = project.events.get()
print(project.pk, response_link(survey=survey, record=record, event=event).token)
"""

TRANSLATION = (
    "type,name,index,hash,default,translation\r\n"
    "form-name,wellbeing,,,Wellbeing,心の健康\r\n"
    "field-header,mood,,,Today,今日\r\n"
    "field-label,mood,,,How do you feel?,今日の気分は？\r\n"
    "field-note,mood,,,Pick one,1つ選んでください\r\n"
    "field-enum,mood,1,,Good,良い\r\n"
    "field-enum,mood,2,,Bad,悪い\r\n"
    "survey-title,wellbeing,,,Wellbeing,心の健康アンケート\r\n"
)


@pytest.fixture(scope="module")
def study(server_data_dir: str) -> tuple[int, str]:
    code = SETUP.format(admin=ADMIN_USERNAME, title=f"Bilingual {secrets.token_hex(3)}")
    out = run_opencrf(server_data_dir, "manage", "shell", "-c", code)
    project_id, token = out.strip().splitlines()[-1].split()
    return int(project_id), token


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if shots := os.environ.get("OPENCRF_SHOTS"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


def test_a_bilingual_form_and_survey_follow_the_browser_and_the_switch(
    page: Any, browser: Any, server_url: str, study: tuple[int, str], admin_credentials, tmp_path
):
    project_id, token = study
    log_in(page, admin_credentials)
    page.goto(f"/projects/{project_id}/design/languages/")
    row = page.locator('tr[data-language="ja"]')
    row.locator('input[type="file"]').set_input_files(
        {"name": "ja.csv", "mimeType": "text/csv", "buffer": TRANSLATION.encode()}
    )
    row.get_by_role("button", name="Upload").click()
    expect(page.locator('tr[data-language="ja"]')).to_contain_text("7 / 9 (77%)")
    _shot(page, tmp_path, "languages-en")

    # Data entry follows the interface language: English (the base), then 日本語 by the switch.
    form = f"/projects/{project_id}/records/1/event_1_arm_1/wellbeing/1/"
    page.goto(form)
    entry = page.locator("#crf-entry")
    expect(page.get_by_role("heading", level=1)).to_have_text("Wellbeing")
    expect(entry.get_by_label("Good")).to_be_visible()
    page.locator(".language-switch").get_by_role("button", name="日本語").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("心の健康")
    expect(entry).to_contain_text("今日の気分は？")
    expect(entry.get_by_label("良い")).to_be_visible()
    expect(entry).to_contain_text("Anything else?")  # untranslated: the base text
    _shot(page, tmp_path, "form-ja")
    # Back to English: the choice is kept on the account, which other tests log in as.
    page.locator(".language-switch").get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wellbeing")

    # A participant's browser in Japanese gets the survey's own language (English) first,
    # then switches; the translated texts follow.
    phone = browser.new_context(
        base_url=server_url, locale="ja-JP", viewport={"width": 360, "height": 740}
    )
    survey = phone.new_page()
    survey.goto(f"/surveys/s/{token}/")
    expect(survey.get_by_test_id("survey-title")).to_have_text("Wellbeing")
    expect(survey.get_by_label("Good")).to_be_visible()
    survey.get_by_test_id("language-switch").get_by_role("button", name="日本語").click()
    expect(survey.get_by_test_id("survey-title")).to_have_text("心の健康アンケート")
    expect(survey.get_by_label("悪い")).to_be_visible()
    _shot(survey, tmp_path, "survey-ja-phone")
    survey.get_by_label("悪い").check()
    survey.get_by_role("button", name="送信").click()
    expect(survey.locator("body")).to_contain_text("ありがとう")
    phone.close()

    # The answer is the same data whatever the language: code 2.
    page.goto(form)
    expect(entry.get_by_label("Bad")).to_be_checked()
