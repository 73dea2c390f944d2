"""Acceptance: the salt_rct fixture's calculated values are what its formulas give."""

from __future__ import annotations

import csv
from collections import defaultdict
from typing import Any

import pytest

from conftest import SALT_RCT as STUDY
from opencrf.logic import evaluate, format_result

COMPUTED_ON_SAVE = {"ae_days"}  # blank on purpose in records.csv


def read(name: str) -> list[dict[str, str]]:
    with (STUDY / name).open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def calc_fields() -> dict[str, tuple[str, str]]:
    """Calculated field → (form, formula)."""
    fields = {}
    for row in read("dictionary.csv"):
        name, form, kind, formula = (
            row["Variable / Field Name"],
            row["Form Name"],
            row["Field Type"],
            row["Choices, Calculations, OR Slider Labels"],
        )
        if kind == "calc" and name not in COMPUTED_ON_SAVE:
            fields[name] = (form, formula)
    return fields


def record_data(rows: list[dict[str, str]]) -> dict[str, dict[str, dict[str, str]]]:
    """`{event: {instance: {field: value}}}` of one record, as GRAMMAR.md §6 `data`."""
    data: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for row in rows:
        instance = row["redcap_repeat_instance"] or "1"
        data[row["redcap_event_name"]].setdefault(instance, {}).update(
            {key: value for key, value in row.items() if value}
        )
    return dict(data)


def context_of(row: dict[str, str], data: dict[str, Any], events: list[str]) -> dict[str, Any]:
    return {
        "record": row["study_id"],
        "event": row["redcap_event_name"],
        "events": events,
        "instance": int(row["redcap_repeat_instance"] or 1),
        "dag": row["redcap_data_access_group"],
        "data": data,
    }


def calculations() -> list[tuple[str, str, str, dict[str, str], dict[str, Any]]]:
    """(label, formula, stored value, values, context) for every saved form with a calc."""
    rows, events = read("records.csv"), [row["unique_event_name"] for row in read("events.csv")]
    by_record: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_record[row["study_id"]].append(row)
    found = []
    for row in rows:
        data = record_data(by_record[row["study_id"]])
        for field, (form, formula) in calc_fields().items():
            if row.get(f"{form}_complete"):
                label = f"{row['study_id']}/{row['redcap_event_name']}/{field}"
                found.append((label, formula, row[field], row, context_of(row, data, events)))
    return found


CALCULATIONS = calculations()


def test_every_calculated_field_of_the_study_is_checked():
    assert {label.rsplit("/", 1)[1] for label, *_ in CALCULATIONS} == set(calc_fields())
    assert len(CALCULATIONS) >= 100


@pytest.mark.parametrize(
    ("formula", "stored", "values", "context"),
    [case[1:] for case in CALCULATIONS],
    ids=[case[0] for case in CALCULATIONS],
)
def test_calculated_value_matches_the_fixture(formula, stored, values, context):
    assert format_result(evaluate(formula, values, mode="calc", **context)) == stored
