from __future__ import annotations

import pytest

from opencrf.demo.loader import load_demo
from opencrf.projects.models import Purpose

pytestmark = pytest.mark.django_db


def test_the_demo_study_loads_once_with_its_design(pi_paula):
    project, created = load_demo(owner_username="pi_paula")
    again, created_again = load_demo()

    assert (created, created_again, again.pk) == (True, False, project.pk)
    assert (project.is_longitudinal, project.purpose) == (True, Purpose.RESEARCH)
    assert [i.name for i in project.instruments.all()] == [
        "enrolment",
        "baseline",
        "visit",
        "quality_of_life",
        "adverse_event",
        "study_completion",
    ]
    assert project.events.count() == 5
    assert project.groups.count() == 3
    assert set(
        project.events.filter(repeats__form_name="adverse_event").values_list(
            "unique_name", flat=True
        )
    ) == {
        "week_12_arm_1",
        "week_24_arm_1",
        "week_52_arm_1",
    }
    types = set(project.fields.values_list("field_type", flat=True))
    assert types == {
        "text",
        "notes",
        "dropdown",
        "radio",
        "checkbox",
        "yesno",
        "truefalse",
        "calc",
        "file",
        "slider",
        "descriptive",
    }
    assert project.members.get().user == pi_paula


def test_an_unknown_owner_is_refused_and_nothing_is_loaded():
    from opencrf.core.errors import InvalidInput
    from opencrf.projects.models import Project

    with pytest.raises(InvalidInput):
        load_demo(owner_username="nobody")
    assert not Project.objects.exists()


def test_the_demo_study_holds_twelve_participants_across_its_three_sites(pi_paula):
    from opencrf.audit.models import AuditEvent
    from opencrf.records.models import FormData, Record

    project, _created = load_demo(owner_username="pi_paula")
    load_demo()

    per_site = Record.objects.values_list("group__unique_name", flat=True)
    assert sorted(per_site) == sorted(
        ["toto_univ"] * 4 + ["hokurei_med"] * 4 + ["setouchi_minato"] * 4
    )
    forms = FormData.objects.filter(project=project)
    assert forms.filter(form_name="enrolment").count() == 12
    assert forms.filter(form_name="baseline").count() == 12
    assert forms.filter(form_name="visit").count() == 9
    assert sorted(
        forms.filter(form_name="adverse_event").values_list("record__record_id", "instance")
    ) == [("1-1", 1), ("2-3", 1), ("2-3", 2), ("2-3", 3), ("3-2", 1), ("3-2", 2)]
    assert set(forms.values_list("status", flat=True)) == {2}
    edits = AuditEvent.objects.filter(project_id=project.pk, action="form.update").exclude(
        reason=""
    )
    assert list(edits.values_list("record", "changes")) == [
        (
            "1-2",
            {
                "weight": ["64.6", "71.8"],
                "bmi": ["27.2", "30.2"],
                "bmi_cat": [
                    "肥満（1度） / Obesity grade 1",
                    "肥満（2度以上） / Obesity grade 2 or higher",
                ],
            },
        ),
        ("2-1", {"initials": ["FH", "KM"]}),
        ("3-3", {"v_hba1c": ["8.5", "8.4"], "hba1c_change": ["-1.2", "-1.3"]}),
    ]
    enrolment = forms.get(record__record_id="1-1", form_name="enrolment")
    assert (enrolment.values["age"], enrolment.values["eligible"]) == ("73", "1")


def test_the_demo_study_has_quality_of_life_as_a_survey():
    from opencrf.surveys.models import Survey

    project, _created = load_demo()
    surveys = list(Survey.objects.filter(project=project))
    assert project.surveys_enabled is True
    assert [(s.form_name, s.save_and_return, s.language, s.active) for s in surveys] == [
        ("quality_of_life", True, "ja", True)
    ]
    assert surveys[0].title == "生活の質（QOL）アンケート"


def test_the_demo_study_is_written_in_japanese_with_an_english_translation():
    from opencrf.dictionary.design import design_of

    project, _created = load_demo()
    assert list(project.languages.values_list("code", "is_base")) == [("ja", True), ("en", False)]
    design = design_of(project)
    assert not [row.field_name for row in design.rows if " / " in row.field_label]
    sex = next(row for row in design.rows if row.field_name == "sex")
    assert (sex.field_label, sex.select_choices_or_calculations) == ("性別", "1, 男性 | 2, 女性")
    english = design.shown_rows([sex], "en")[0]
    assert (english.field_label, english.select_choices_or_calculations) == (
        "Sex",
        "1, Male | 2, Female",
    )
    table = design.texts_in("en")
    assert table[("survey-title", "quality_of_life", "")] == "Quality of life questionnaire"
    assert table[("field-slider", "motivation", "middle")] == "Neutral"
    # Every text of the design has its English translation, but two the same in both.
    from opencrf.dictionary.translation_selectors import project_items

    untranslated = [item.key for item in project_items(project) if item.key not in table]
    assert untranslated == [("field-label", "bmi", ""), ("field-label", "v_bmi", "")]
