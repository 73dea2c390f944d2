"""Multi-language forms on survey pages: the page's language picks the translated texts."""

from __future__ import annotations

import pytest

from opencrf.dictionary.translation_services import language_add, translations_set
from opencrf.records.services import record_create
from opencrf.surveys import services
from opencrf.surveys.tests.test_public_respond import ANSWERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(demo, qol_survey, paula_context):
    qol_survey.title = "生活の質"
    qol_survey.completion_text = "ありがとうございました"
    qol_survey.language = "ja"
    qol_survey.language_switch = True
    qol_survey.save()
    language_add(context=paula_context, project=demo, code="ja", display_name="日本語")
    language_add(context=paula_context, project=demo, code="en", display_name="English")
    translations_set(
        context=paula_context,
        project=demo,
        code="en",
        texts={
            ("survey-title", "quality_of_life", ""): "Quality of life",
            ("survey-acknowledgement", "quality_of_life", ""): "Thank you <b>very</b> much",
            ("field-label", "qol_mood", ""): "I feel <i>positive</i>",
            ("field-enum", "qol_mood", "5"): "Strongly agree!",
        },
    )
    record = record_create(context=paula_context, project=demo, record_id="900")
    baseline = demo.events.get(unique_name="baseline_arm_1")
    return services.response_link(survey=qol_survey, record=record, event=baseline)


def test_the_survey_shows_its_language_and_switches_to_the_translation(client, link):
    url = f"/surveys/s/{link.token}/"
    ja = client.get(url).content.decode()
    assert '<h1 class="survey-title" data-testid="survey-title">生活の質</h1>' in ja
    assert "気持ちが前向きである" in ja and "Strongly agree!" not in ja
    client.post(url + "language/", {"language": "en", "page": "1"})
    en = client.get(url).content.decode()
    assert '<h1 class="survey-title" data-testid="survey-title">Quality of life</h1>' in en
    assert "I feel &lt;i&gt;positive&lt;/i&gt;" in en
    assert "Strongly agree!" in en
    assert "気持ちが前向きである" not in en
    # An untranslated label keeps the base (Japanese) text.
    assert "痛みや息切れなく歩くことができる" in en


def test_the_completion_text_is_the_translation_escaped(client, link):
    url = f"/surveys/s/{link.token}/"
    client.post(url + "language/", {"language": "en", "page": "1"})
    done = client.post(url, {**ANSWERS, "page": "1"}, follow=True).content.decode()
    assert "Thank you &lt;b&gt;very&lt;/b&gt; much" in done
    assert "ありがとうございました" not in done
