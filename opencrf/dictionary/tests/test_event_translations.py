"""Multi-language forms translate a longitudinal project's event and arm names."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.translation_selectors import project_items, translation_table
from opencrf.dictionary.translation_services import (
    language_add,
    translations_set,
    translations_upload,
)
from opencrf.dictionary.translations import TranslationFileError, text_hash
from opencrf.records.project_xml import project_create_from_xml, project_xml_write
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db

SCREENING = ("event-name", "screening_arm_1", "")
ARM_1 = ("arm-name", "1", "")


@pytest.fixture
def bilingual(salt_rct, paula_context):
    """The salt_rct study, written in English with Japanese translations of two names."""
    language_add(context=paula_context, project=salt_rct, code="en", display_name="English")
    language_add(context=paula_context, project=salt_rct, code="ja", display_name="日本語")
    translations_set(
        context=paula_context,
        project=salt_rct,
        code="ja",
        texts={SCREENING: "スクリーニング<i>訪問</i>", ARM_1: "減塩群"},
    )
    salt_rct.refresh_from_db()
    return salt_rct


def test_arm_and_event_names_are_translatable_items(salt_rct, classic_project):
    keys = [item.key for item in project_items(salt_rct)]
    names = [key for key in keys if key[0] in ("arm-name", "event-name")]
    assert names == [
        ARM_1,
        SCREENING,
        ("event-name", "baseline_arm_1", ""),
        ("event-name", "week_4_arm_1", ""),
        ("event-name", "week_12_arm_1", ""),
        ("event-name", "week_24_arm_1", ""),
    ]
    items = {item.key: item for item in project_items(salt_rct)}
    assert items[SCREENING].default == "スクリーニング / Screening"
    # A classic project's one event is never shown by name, so it is not offered.
    assert [i for i in project_items(classic_project) if i.kind == "event-name"] == []


def test_the_translation_file_carries_event_names_both_ways(client, pi_paula, bilingual):
    client.force_login(pi_paula)
    url = reverse("dictionary:translation_download", args=[bilingual.pk, "ja"])
    lines = client.get(url).content.decode("utf-8-sig").splitlines()
    assert (
        f"event-name,screening_arm_1,,{text_hash('スクリーニング / Screening')},"
        "スクリーニング / Screening,スクリーニング<i>訪問</i>"
    ) in lines
    assert f"arm-name,1,,{text_hash('減塩試験 / Salt trial')},減塩試験 / Salt trial,減塩群" in lines

    upload = (
        "type,name,index,hash,default,translation\r\n"
        "event-name,week_4_arm_1,,,,4週目\r\n"
        "arm-name,1,,,,\r\n"
    ).encode()
    counts = translations_upload(
        context=AuditContext(actor=pi_paula), project=bilingual, code="ja", data=upload
    )
    assert counts == {"set": 1, "removed": 1, "outdated": 0}
    table = translation_table(bilingual, "ja")
    assert table[("event-name", "week_4_arm_1", "")] == "4週目"
    assert ARM_1 not in table


def test_an_unknown_event_in_the_file_is_refused_with_its_line(pi_paula, bilingual):
    upload = (
        "type,name,index,hash,default,translation\r\n"
        "event-name,week_4_arm_1,,,,4週目\r\n"
        "event-name,week_99_arm_1,,,,99週\r\n"
    ).encode()
    with pytest.raises(TranslationFileError) as refusal:
        translations_upload(
            context=AuditContext(actor=pi_paula), project=bilingual, code="ja", data=upload
        )
    assert [(p.line, p.message) for p in refusal.value.problems] == [
        (3, "The design has no event-name text for “week_99_arm_1”.")
    ]
    assert ("event-name", "week_4_arm_1", "") not in translation_table(bilingual, "ja")
    with pytest.raises(InvalidInput):
        translations_set(
            context=AuditContext(actor=pi_paula),
            project=bilingual,
            code="ja",
            texts={("event-name", "nowhere_arm_1", ""): "x"},
        )


def test_record_home_and_data_entry_show_event_names_in_the_users_language(
    client, pi_paula, paula_context, bilingual
):
    record = record_create(context=paula_context, project=bilingual, record_id="7")
    screening = bilingual.events.get(unique_name="screening_arm_1")
    form_save(
        context=paula_context,
        record=record,
        event=screening,
        form_name="screening",
        values={},
        base_version=None,
    )
    client.force_login(pi_paula)
    home = reverse("records:home", args=[bilingual.pk, "7"])
    form = reverse("records:form", args=[bilingual.pk, "7", "screening_arm_1", "screening", 1])
    dashboard = reverse("records:dashboard", args=[bilingual.pk])

    ja_home = client.get(home, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    en_home = client.get(home, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    ja_form = client.get(form, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    en_form = client.get(form, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    ja_board = client.get(dashboard, HTTP_ACCEPT_LANGUAGE="ja").content.decode()

    shown = "スクリーニング&lt;i&gt;訪問&lt;/i&gt;"  # markup in a name stays inert
    column = '<th scope="col" class="text-center">'
    assert f"{column}{shown}" in ja_home
    assert f"{column}ベースライン / Baseline" in ja_home  # untranslated: the base name
    assert f"{column}スクリーニング / Screening" in en_home and shown not in en_home
    assert f"<strong>{shown}</strong>" in ja_form
    assert "<strong>スクリーニング / Screening</strong>" in en_form
    assert f'class="text-center">{shown}<' in ja_board


def test_the_filters_fall_back_to_the_names_themselves(bilingual):
    template = Template(
        "{% load design_texts %}{{ arm|arm_label:project }} · {{ event|event_label:project }}"
    )
    arm = bilingual.arms.get()
    week_4 = bilingual.events.get(unique_name="week_4_arm_1")
    context = Context({"arm": arm, "event": week_4, "project": bilingual})
    with translation.override("ja"):
        assert template.render(context) == "減塩群 · 4週 / Week 4"
    with translation.override("en"):
        assert template.render(context) == "減塩試験 / Salt trial · 4週 / Week 4"
    with translation.override("ja-JP"):
        assert template.render(context).startswith("減塩群")


def test_event_and_arm_translations_travel_in_project_xml(paula_context, pi_paula, bilingual):
    text = "".join(project_xml_write(bilingual, pi_paula, include_data=False, include_files=False))
    copy = project_create_from_xml(context=paula_context, data=text.encode())
    assert translation_table(copy, "ja") == translation_table(bilingual, "ja")
    assert translation_table(copy, "ja")[SCREENING] == "スクリーニング<i>訪問</i>"
