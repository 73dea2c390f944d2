from __future__ import annotations

import pytest

from conftest import dictionary_rows
from opencrf.audit.models import AuditEvent
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.models import DictionaryRevision, Field
from opencrf.dictionary.services import DictionaryInvalid, dictionary_apply
from opencrf.projects.models import EventInstrument, ProjectStatus, RepeatSetting
from opencrf.projects.services import event_instruments_set, repeat_settings_set

pytestmark = pytest.mark.django_db


def _rows(*specs: tuple[str, str]) -> list[FieldRow]:
    return [FieldRow(field_name=name, form_name=form, field_label=name) for name, form in specs]


def _apply(context, project, rows, **kwargs):
    return dictionary_apply(context=context, project=project, rows=rows, source="upload", **kwargs)


def test_applying_a_dictionary_stores_fields_instruments_and_a_revision(
    paula_context, classic_project
):
    rows = dictionary_rows("simple")
    revision = _apply(paula_context, classic_project, rows)

    assert revision.number == 1
    assert revision.field_rows() == rows
    assert [f.as_row() for f in classic_project.fields.all()] == rows
    assert list(classic_project.instruments.values_list("name", "label")) == [
        ("demographics", "Demographics"),
        ("health", "Health"),
        ("race_and_ethnicity", "Race And Ethnicity"),
    ]


def test_a_classic_projects_event_holds_every_instrument(paula_context, classic_project):
    _apply(paula_context, classic_project, dictionary_rows("simple"))

    assert sorted(EventInstrument.objects.values_list("form_name", flat=True)) == [
        "demographics",
        "health",
        "race_and_ethnicity",
    ]


def test_a_longitudinal_projects_new_instruments_are_not_designated(
    paula_context, longitudinal_project
):
    _apply(paula_context, longitudinal_project, dictionary_rows("simple"))
    assert not EventInstrument.objects.exists()


def test_instruments_keep_their_labels_and_take_given_ones(paula_context, classic_project):
    _apply(
        paula_context,
        classic_project,
        _rows(("record_id", "intake")),
        instrument_labels={"intake": "受付 / Intake"},
    )
    _apply(paula_context, classic_project, _rows(("record_id", "intake"), ("age", "followup")))

    assert list(classic_project.instruments.values_list("name", "label", "position")) == [
        ("intake", "受付 / Intake", 1),
        ("followup", "Followup", 2),
    ]


def test_each_apply_adds_a_numbered_revision_and_an_audit_entry(paula_context, classic_project):
    _apply(paula_context, classic_project, _rows(("record_id", "intake")))
    _apply(paula_context, classic_project, _rows(("record_id", "intake"), ("age", "intake")))

    assert list(DictionaryRevision.objects.values_list("number", "field_count")) == [(1, 1), (2, 2)]
    entry = AuditEvent.objects.filter(action="dictionary.update").last()
    assert entry.changes["added_fields"] == ["age"]
    assert entry.details == "Data dictionary revision 2 (upload)"


def test_removing_an_instrument_drops_its_designations_and_repeats(
    paula_context, longitudinal_project
):
    _apply(paula_context, longitudinal_project, _rows(("record_id", "intake"), ("ae_term", "ae")))
    event = longitudinal_project.events.get()
    event_instruments_set(
        context=paula_context,
        project=longitudinal_project,
        designations={(event.pk, "intake"), (event.pk, "ae")},
        known_forms=["intake", "ae"],
    )
    repeat_settings_set(
        context=paula_context,
        project=longitudinal_project,
        settings={(event.pk, "ae"): ""},
        known_forms=["intake", "ae"],
    )
    _apply(paula_context, longitudinal_project, _rows(("record_id", "intake")))

    assert list(EventInstrument.objects.values_list("form_name", flat=True)) == ["intake"]
    assert not RepeatSetting.objects.exists()


def test_an_invalid_dictionary_reports_every_problem_and_changes_nothing(
    paula_context, classic_project
):
    _apply(paula_context, classic_project, _rows(("record_id", "intake")))
    bad = _rows(("record_id", "intake"), ("Bad Name", "intake"), ("record_id", "intake"))

    with pytest.raises(DictionaryInvalid) as refused:
        _apply(paula_context, classic_project, bad)

    assert [(p.row, p.rule) for p in refused.value.problems] == [
        (3, "field_name_invalid"),
        (4, "field_name_duplicate"),
    ]
    assert list(Field.objects.values_list("field_name", flat=True)) == ["record_id"]
    assert DictionaryRevision.objects.count() == 1


def test_a_dictionary_is_not_replaced_outside_development(paula_context, classic_project):
    classic_project.status = ProjectStatus.PRODUCTION
    classic_project.save()

    with pytest.raises(InvalidInput):
        _apply(paula_context, classic_project, _rows(("record_id", "intake")))
    assert not Field.objects.exists()


def test_sql_fields_need_an_administrators_setting(paula_context, classic_project, settings):
    rows = [
        FieldRow("record_id", "f"),
        FieldRow("lookup", "f", field_type="sql", select_choices_or_calculations="select 1"),
    ]
    with pytest.raises(DictionaryInvalid) as refused:
        _apply(paula_context, classic_project, rows)
    assert [p.rule for p in refused.value.problems] == ["sql_not_allowed"]

    settings.OPENCRF_ALLOW_SQL_FIELDS = True
    assert _apply(paula_context, classic_project, rows).field_count == 2
