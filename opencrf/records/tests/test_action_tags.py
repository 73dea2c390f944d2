"""Action tags in data entry: defaults of new forms, hidden choices, read-only fields, limits."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from opencrf.audit.services import AuditContext
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.services import project_create
from opencrf.records.errors import InvalidValues, ValueProblem
from opencrf.records.models import FormData
from opencrf.records.services import form_save, record_create

from .conftest import snapshot

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 9, 14, 5, 7, tzinfo=ZoneInfo("Asia/Tokyo"))


def _row(name: str, annotation: str = "", **kwargs: str) -> FieldRow:
    return FieldRow(field_name=name, form_name="visit", field_annotation=annotation, **kwargs)


ROWS = [
    _row("record_id"),
    _row("crf_version", "@DEFAULT='1.0' @READONLY"),
    _row("comment", '@DEFAULT="hello there"'),
    _row("visit_date", "@TODAY", text_validation_type_or_show_slider_number="date_dmy"),
    _row("signed", "@NOW", text_validation_type_or_show_slider_number="datetime_ymd"),
    _row("signed_s", "@NOW", text_validation_type_or_show_slider_number="datetime_seconds_mdy"),
    _row("stamp", "@NOW"),
    _row("age", "@TODAY", text_validation_type_or_show_slider_number="integer"),
    _row(
        "colour",
        "@HIDECHOICE='1,3'",
        field_type="radio",
        select_choices_or_calculations="1, Red | 2, Green | 3, Blue",
    ),
    _row(
        "pets",
        "@DEFAULT='2,3' @HIDECHOICE='1'",
        field_type="checkbox",
        select_choices_or_calculations="1, Cat | 2, Dog | 3, Fish",
    ),
    _row("initials", "@CHARLIMIT=2"),
    _row("note", "@NOMISSING"),
]


@pytest.fixture
def now(monkeypatch):
    real = timezone.localtime

    def localtime(value=None, tz=None):
        return NOW if value is None else real(value, tz)

    monkeypatch.setattr(timezone, "localtime", localtime)
    return NOW


@pytest.fixture
def context(pi_paula):
    return AuditContext(actor=pi_paula, source="web")


@pytest.fixture
def project(context):
    project = project_create(context=context, title="Tagged")
    dictionary_apply(context=context, project=project, rows=ROWS, source="upload")
    return project


@pytest.fixture
def record(project, context):
    return record_create(context=context, project=project, record_id="1")


@pytest.fixture
def event(project):
    return project.events.get()


def page_url(project, record_id="1"):
    return reverse("records:form", args=[project.pk, record_id, "event_1_arm_1", "visit", 1])


def save(context, record, event, values, **kwargs):
    kwargs.setdefault("base_version", None)
    return form_save(
        context=context, record=record, event=event, form_name="visit", values=values, **kwargs
    )


def _input_value(html: str, name: str) -> str:
    tag = html.split(f'name="{name}"', 1)[1].split(">", 1)[0]
    return tag.split('value="', 1)[1].split('"', 1)[0] if 'value="' in tag else ""


def test_a_new_form_starts_with_its_defaults_today_and_now(client, pi_paula, project, record, now):
    client.force_login(pi_paula)

    html = client.get(page_url(project)).content.decode()

    assert _input_value(html, "crf_version") == "1.0"
    assert _input_value(html, "comment") == "hello there"
    assert _input_value(html, "visit_date") == "2026-03-09"
    assert _input_value(html, "signed") == "2026-03-09 14:05"
    assert _input_value(html, "signed_s") == "2026-03-09 14:05:07"
    assert _input_value(html, "stamp") == "2026-03-09 14:05:07"
    assert _input_value(html, "age") == ""
    assert 'name="pets___2" value="1" checked' in html
    assert 'name="pets___3" value="1" checked' in html


def test_a_form_with_data_shows_stored_values_not_defaults(
    client, pi_paula, project, record, event, context, now
):
    save(context, record, event, {"comment": "", "visit_date": "2025-01-02"})
    client.force_login(pi_paula)

    html = client.get(page_url(project)).content.decode()

    assert _input_value(html, "comment") == ""
    assert _input_value(html, "visit_date") == "2025-01-02"
    assert _input_value(html, "signed") == ""
    assert _input_value(html, "crf_version") == "1.0"  # stored with the first save


def test_hidden_choices_are_left_out_unless_stored(
    client, pi_paula, project, record, event, context
):
    client.force_login(pi_paula)
    html = client.get(page_url(project)).content.decode()
    assert ">Red<" not in html and ">Blue<" not in html and ">Green<" in html
    assert ">Cat<" not in html and ">Dog<" in html

    save(context, record, event, {"colour": "3", "pets___1": "1"})
    html = client.get(page_url(project)).content.decode()

    assert ">Red<" not in html
    assert 'name="colour" value="3" checked' in html
    assert 'name="pets___1" value="1" checked' in html


def test_unticking_a_stored_hidden_checkbox_option_is_saved(
    client, pi_paula, project, record, event, context
):
    save(context, record, event, {"pets___1": "1", "pets___2": "0", "pets___3": "0"})
    client.force_login(pi_paula)
    page = client.get(page_url(project))

    client.post(
        page_url(project),
        {"base_version": page.context["base_version"], "action": "stay"},
    )

    assert FormData.objects.get().values["pets___1"] == "0"


def test_a_read_only_field_keeps_its_stored_value_whatever_is_submitted(
    project, record, event, context
):
    save(context, record, event, {"comment": "first"})

    result = save(context, record, event, {"crf_version": "9.9", "comment": "second"})

    assert result.form.values["crf_version"] == "1.0"
    assert result.changes == {"comment": ["first", "second"]}


def test_a_new_form_stores_the_default_of_a_read_only_field_it_cannot_submit(
    project, record, event, context
):
    result = save(context, record, event, {"crf_version": "2.0", "note": "x"})

    assert result.changes == {"crf_version": ["", "1.0"], "note": ["", "x"]}


def test_a_value_longer_than_its_char_limit_is_refused(project, record, event, context):
    before = snapshot(project)

    with pytest.raises(InvalidValues) as refused:
        save(context, record, event, {"initials": "ABC", "note": "ok"})

    assert refused.value.problems == [
        ValueProblem(
            "initials",
            "ABC",
            "too_long",
            "initials allows at most 2 characters; ABC has 3.",
        )
    ]
    assert snapshot(project) == before


def test_a_value_at_its_char_limit_is_stored(project, record, event, context):
    result = save(context, record, event, {"initials": "AB"})

    assert result.form.values["initials"] == "AB"


def test_nomissing_is_accepted_and_changes_nothing(client, pi_paula, project, record):
    client.force_login(pi_paula)

    response = client.get(page_url(project))

    assert response.status_code == 200
    assert 'name="note"' in response.content.decode()
