from __future__ import annotations

import csv

import pytest

from conftest import SALT_RCT
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.csvio import parse_dictionary_csv
from opencrf.dictionary.form_logic import compile_form, evaluate_form, form_logic_spec

ROWS = parse_dictionary_csv((SALT_RCT / "dictionary.csv").read_bytes())
RECORDS = list(csv.DictReader((SALT_RCT / "records.csv").open(encoding="utf-8-sig")))


def _form(name: str) -> list[FieldRow]:
    return [row for row in ROWS if row.form_name == name]


def _stored_values(record: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in record.items() if not key.startswith("redcap_")}


@pytest.mark.parametrize(
    "record",
    [r for r in RECORDS if r["redcap_event_name"] == "screening_arm_1"],
    ids=lambda r: r["study_id"],
)
def test_screening_calculations_give_the_values_in_salt_rct(record):
    values = _stored_values(record)
    given = {name: values.pop(name) for name in ("age", "eligible")}

    calculated, _shown = evaluate_form(_form("screening"), values)

    assert {name: calculated[name] for name in given} == given


def test_branching_hides_pregnancy_for_men_and_shows_it_for_younger_women():
    form = _form("screening")
    base = {"dob": "1990-01-01", "consent_date": "2026-01-01"}

    _calc, shown_for_men = evaluate_form(form, {**base, "sex": "1"})
    _calc, shown_for_women = evaluate_form(form, {**base, "sex": "2"})

    assert (shown_for_men["pregnant"], shown_for_women["pregnant"]) == (False, True)


def test_a_calculation_reading_a_later_calculation_settles_in_the_second_pass():
    rows = [
        FieldRow("record_id", "f"),
        FieldRow("double", "f", field_type="calc", select_choices_or_calculations="[base] * 2"),
        FieldRow("base", "f", field_type="calc", select_choices_or_calculations="[x] + 1"),
        FieldRow("x", "f"),
    ]
    calculated, _shown = evaluate_form(rows, {"x": "4"})
    assert calculated == {"double": "10", "base": "5"}
    assert compile_form(rows).passes == 2


def test_calculations_reading_only_earlier_ones_take_one_pass_with_the_same_results():
    rows = [
        FieldRow("x", "f"),
        FieldRow("base", "f", field_type="calc", select_choices_or_calculations="[x] + 1"),
        FieldRow("double", "f", field_type="calc", select_choices_or_calculations="[base] * 2"),
        FieldRow("note", "f", field_annotation="@CALCTEXT(if([double] > 9, 'big', 'small'))"),
    ]
    assert compile_form(rows).passes == 1
    calculated, _shown = evaluate_form(rows, {"x": "4", "base": "stale", "double": "stale"})
    assert calculated == {"base": "5", "double": "10", "note": "big"}


def test_a_calculation_reading_itself_counts_as_reading_a_later_one():
    rows = [FieldRow("n", "f", field_type="calc", select_choices_or_calculations="[n] + 1")]
    assert compile_form(rows).passes == 2


def test_calctext_gives_text_and_a_broken_calculation_stores_blank():
    rows = [
        FieldRow("w", "f"),
        FieldRow("label", "f", field_annotation="@CALCTEXT(if([w] > 100, 'heavy', 'light'))"),
        FieldRow("bad", "f", field_type="calc", select_choices_or_calculations="[w] / 0"),
    ]
    calculated, _shown = evaluate_form(rows, {"w": "120"})
    assert calculated == {"label": "heavy", "bad": ""}


def test_the_page_spec_lists_asts_and_who_depends_on_whom():
    spec = form_logic_spec(_form("screening"), {"project_id": 7})

    assert spec["context"] == {"project_id": 7}
    assert sorted(spec["fields"]) == ["age", "eligible", "ineligible_reason", "pregnant"]
    assert spec["fields"]["age"]["mode"] == "calc"
    assert spec["fields"]["pregnant"]["branching"]["type"] == "binary"
    assert spec["depends"]["dob"] == ["age"]
    assert spec["depends"]["age"] == ["pregnant"]
    assert spec["depends"]["incl"] == ["eligible"]
