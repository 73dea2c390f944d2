from __future__ import annotations

import pytest

from opencrf.core.errors import InvalidInput
from opencrf.dictionary import designer_services as ds
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.designer_zip import instrument_zip, read_instrument_zip
from opencrf.dictionary.models import DictionaryRevision

ROWS = (
    FieldRow("record_id", "enrolment", field_label="Record ID"),
    FieldRow(
        "age", "enrolment", field_label="Age", text_validation_type_or_show_slider_number="integer"
    ),
    FieldRow(
        "sex",
        "enrolment",
        field_type="radio",
        field_label="Sex",
        select_choices_or_calculations="1, Male | 2, Female",
    ),
    FieldRow("weight", "visit", field_label="Weight"),
    FieldRow("height", "visit", field_label="Height"),
)


def _design(rows=ROWS) -> ds.Design:
    return ds.Design(rows=tuple(rows), labels={"enrolment": "Enrolment", "visit": "Visit"}, base=1)


def _names(change: ds.Change) -> list[str]:
    return [row.field_name for row in change.rows]


def test_a_field_is_added_before_another_or_at_the_end_of_its_instrument():
    bmi = FieldRow("bmi", "visit", field_type="calc", select_choices_or_calculations="[weight]")
    assert _names(ds.field_add(_design(), bmi, before="height")) == [
        "record_id",
        "age",
        "sex",
        "weight",
        "bmi",
        "height",
    ]
    end = FieldRow("note", "enrolment", field_type="notes")
    assert _names(ds.field_add(_design(), end)) == [
        "record_id",
        "age",
        "sex",
        "note",
        "weight",
        "height",
    ]


def test_a_field_name_is_refused_when_taken_badly_formed_or_placed_before_the_record_id():
    with pytest.raises(InvalidInput, match="exists already"):
        ds.field_add(_design(), FieldRow("age", "enrolment"))
    with pytest.raises(InvalidInput, match="lowercase"):
        ds.field_add(_design(), FieldRow("Age2", "enrolment"))
    with pytest.raises(InvalidInput, match="record ID"):
        ds.field_add(_design(), FieldRow("x", "enrolment"), before="record_id")
    with pytest.raises(InvalidInput, match="exists already"):
        ds.field_add(_design(), FieldRow("visit_complete", "visit"))


def test_fields_move_up_down_to_a_position_and_to_another_instrument():
    assert _names(ds.field_step(_design(), "sex", -1)) == [
        "record_id",
        "sex",
        "age",
        "weight",
        "height",
    ]
    assert _names(ds.field_step(_design(), "age", -1)) == [
        "record_id",
        "age",
        "sex",
        "weight",
        "height",
    ]
    moved = ds.field_move(_design(), "age", form_name="visit", position=2)
    assert _names(moved) == ["record_id", "sex", "weight", "age", "height"]
    assert moved.rows[2].form_name == "visit"
    with pytest.raises(InvalidInput, match="record ID"):
        ds.field_move(_design(), "record_id", form_name="visit", position=1)


def test_copy_and_delete_keep_names_unique_and_the_record_id_in_place():
    copied = ds.field_copy(_design(), "sex")
    assert _names(copied) == ["record_id", "age", "sex", "sex_copy", "weight", "height"]
    assert _names(ds.field_copy(_design(copied.rows), "sex"))[3] == "sex_copy_2"
    assert _names(ds.field_delete(_design(), "age")) == ["record_id", "sex", "weight", "height"]
    with pytest.raises(InvalidInput):
        ds.field_delete(_design(), "record_id")


def test_removing_or_recoding_a_choice_that_holds_data_is_refused_with_its_count():
    new = ROWS[2].replace(select_choices_or_calculations="1, Male | 3, Female")
    with pytest.raises(InvalidInput, match=r"2 \(4\)"):
        ds.field_edit(_design(), "sex", new, data_counts={"1": 3, "2": 4})
    relabelled = ROWS[2].replace(select_choices_or_calculations="1, Man | 2, Woman")
    assert (
        ds.field_edit(_design(), "sex", relabelled, data_counts={"1": 3, "2": 4}).rows[2]
        == relabelled
    )
    assert ds.field_edit(_design(), "sex", new, data_counts={"1": 3}).rows[2] == new


def test_instruments_are_created_renamed_copied_moved_and_deleted():
    created = ds.instrument_create(_design(), "adverse_events", "Adverse events")
    assert created.rows[-1] == FieldRow(
        "adverse_events_intro",
        "adverse_events",
        field_type="descriptive",
        field_label="Adverse events",
    )
    blank = ds.instrument_create(ds.Design(rows=(), labels={}, base=0), "baseline", "")
    assert blank.rows == [FieldRow("record_id", "baseline", field_label="Record ID")]
    assert blank.labels == {"baseline": "Baseline"}
    assert ds.instrument_rename(_design(), "visit", "Follow-up").labels["visit"] == "Follow-up"
    copied = ds.instrument_copy(_design(), "visit", "visit_2", "")
    assert _names(copied)[-2:] == ["weight_v2", "height_v2"]
    assert copied.labels["visit_2"] == "Visit 2"
    assert _names(ds.instrument_delete(_design(), "visit")) == ["record_id", "age", "sex"]
    with pytest.raises(InvalidInput):
        ds.instrument_delete(_design(), "enrolment")
    with pytest.raises(InvalidInput, match="stays first"):
        ds.instrument_move(_design(), "visit", 1)


def test_a_name_is_suggested_from_the_label():
    assert ds.name_from_label("Date of birth (DOB)") == "date_of_birth_dob"
    assert ds.name_from_label("体重", taken=["field"]) == "field_2"
    assert ds.name_from_label("2nd visit") == "field_2nd_visit"
    assert ds.name_from_label("Café  au lait!", taken=["cafe_au_lait"]) == "cafe_au_lait_2"


def test_an_instrument_zip_round_trips_its_rows_and_refuses_other_files():
    rows = list(ROWS[3:])
    assert read_instrument_zip(instrument_zip(rows)) == rows
    with pytest.raises(InvalidInput, match=r"instrument\.csv"):
        read_instrument_zip(b"PK not a zip")


def test_uploaded_rows_are_renamed_with_their_references():
    rows = [
        FieldRow("weight", "x", branching_logic="[weight] > 1 and [bmi(1)] = '1'"),
        FieldRow("bmi", "x", field_type="calc", select_choices_or_calculations="[weight]*2"),
    ]
    renamed = ds.renamed_rows(rows, "visit_b", {"weight"}, suffix="_2")
    assert [r.field_name for r in renamed] == ["weight_2", "bmi"]
    assert renamed[0].branching_logic == "[weight_2] > 1 and [bmi(1)] = '1'"
    assert renamed[1].select_choices_or_calculations == "[weight_2]*2"


@pytest.mark.django_db
def test_a_stale_base_is_refused_and_nothing_changes(classic_project, paula_context):
    design = ds.Design(rows=ROWS, labels={}, base=0)
    base = ds.design_commit(
        context=paula_context,
        project=classic_project,
        design=design,
        change=ds.Change(list(ROWS), {}, "first"),
    )
    assert base == 1
    change = ds.field_delete(design, "age")
    with pytest.raises(InvalidInput):
        ds.design_commit(
            context=paula_context, project=classic_project, design=design, change=change
        )
    assert DictionaryRevision.objects.filter(project=classic_project).count() == 1
    assert ds.design_load(classic_project).rows == ROWS
