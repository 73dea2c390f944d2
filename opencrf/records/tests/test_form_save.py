from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.core.errors import InvalidInput
from opencrf.records.errors import InvalidValues, SaveConflict, ValueProblem
from opencrf.records.models import FormData, FormStatus
from opencrf.records.services import form_delete, form_save

from .conftest import snapshot

pytestmark = pytest.mark.django_db

SCREENING = {
    "consent_date": "2026-04-23",
    "initials": "AN",
    "dob": "2004-06-21",
    "sex": "2",
    "pregnant": "0",
    "incl___1": "1",
    "incl___2": "1",
    "incl___3": "1",
}


@pytest.fixture
def save(paula_context, osaka_record, events):
    def save(event, form_name, values, **kwargs):
        kwargs.setdefault("base_version", None)
        return form_save(
            context=paula_context,
            record=osaka_record,
            event=events[event],
            form_name=form_name,
            values=values,
            **kwargs,
        )

    return save


def _updates(project):
    return list(
        AuditEvent.objects.filter(project_id=project.pk, action="form.update").values_list(
            "record", "event", "instrument", "instance", "changes", "reason"
        )
    )


def test_saving_screening_stores_values_and_calculates_age_and_eligibility(salt_rct, save):
    result = save("screening_arm_1", "screening", SCREENING, status=FormStatus.COMPLETE)

    form = FormData.objects.get()
    assert (result.created, form.version, form.status) == (True, 1, 2)
    assert form.values == {**SCREENING, "age": "21", "eligible": "1"}
    assert _updates(salt_rct) == [
        (
            "1-1",
            "screening_arm_1",
            "screening",
            1,
            {
                "consent_date": ["", "2026-04-23"],
                "initials": ["", "AN"],
                "dob": ["", "2004-06-21"],
                "age": ["", "21"],
                "sex": ["", "2"],
                "pregnant": ["", "0"],
                "incl___1": ["0", "1"],
                "incl___2": ["0", "1"],
                "incl___3": ["0", "1"],
                "eligible": ["", "1"],
                "screening_complete": ["0", "2"],
            },
            "",
        )
    ]
    assert result.warnings == []


def test_a_submitted_calculation_is_ignored_and_recomputed(save):
    result = save("screening_arm_1", "screening", {**SCREENING, "age": "99", "eligible": "0"})

    assert (result.form.values["age"], result.form.values["eligible"]) == ("21", "1")


def test_an_edit_audits_old_and_new_values_with_the_reason(salt_rct, save):
    first = save("baseline_arm_1", "baseline", {"height": "160.0", "weight": "64.0"})

    result = save(
        "baseline_arm_1",
        "baseline",
        {"weight": "70.4"},
        base_version=first.form.version,
        reason="Scale misread",
    )

    assert result.changes == {"weight": ["64.0", "70.4"], "bmi": ["25", "27.5"]}
    assert (result.created, result.form.version) == (False, 2)
    assert result.form.values["height"] == "160.0"
    assert _updates(salt_rct)[-1][4:] == (
        {"weight": ["64.0", "70.4"], "bmi": ["25", "27.5"]},
        "Scale misread",
    )


def test_clearing_a_value_removes_it_and_its_calculation(save):
    save("baseline_arm_1", "baseline", {"height": "160.0", "weight": "64.0"})

    result = save("baseline_arm_1", "baseline", {"weight": ""})

    assert result.changes == {"weight": ["64.0", ""], "bmi": ["25", ""]}
    assert result.form.values == {"height": "160.0"}


def test_a_calculation_reads_the_other_forms_of_the_same_event(save):
    save("week_4_arm_1", "visit", {"visit_date": "2026-05-21", "sbp": "120", "dbp": "70"})

    result = save(
        "week_4_arm_1",
        "adverse_event",
        {"ae_term": "Dizziness", "ae_onset": "2026-05-18", "ae_grade": "1", "ae_serious": "0"},
        instance=2,
    )

    assert (result.form.instance, result.form.values["ae_days"]) == (2, "3")


def test_a_save_that_changes_nothing_writes_no_audit_event_and_keeps_the_version(salt_rct, save):
    save("baseline_arm_1", "baseline", {"height": "160.0", "weight": "64.0"})
    before = snapshot(salt_rct)

    result = save("baseline_arm_1", "baseline", {"height": "160.0", "bmi": "1"}, base_version=1)

    assert (result.changes, result.created, result.form.version) == ({}, False, 1)
    assert snapshot(salt_rct) == before


def test_an_empty_new_form_is_not_stored(salt_rct, save):
    before = snapshot(salt_rct)

    result = save("baseline_arm_1", "baseline", {"height": "", "med_history___dm": "0"})

    assert (result.form.pk, result.changes, result.created) == (None, {}, False)
    assert snapshot(salt_rct) == before


def test_out_of_range_and_required_blank_values_are_saved_with_warnings(save):
    result = save("baseline_arm_1", "baseline", {"height": "99.5", "weight": "251.0"})

    assert result.form.values == {"height": "99.5", "weight": "251.0", "bmi": "253.5"}
    assert result.warnings == [
        ValueProblem("height", "99.5", "min", "99.5 is below the minimum, 100."),
        ValueProblem("weight", "251.0", "max", "251.0 is above the maximum, 250."),
    ]
    blank = save("week_4_arm_1", "visit", {"hr": "60"})
    assert [(w.field, w.rule) for w in blank.warnings] == [
        ("visit_date", "required"),
        ("sbp", "required"),
        ("dbp", "required"),
    ]


def test_a_required_field_hidden_by_branching_gives_no_warning(save):
    male = save("screening_arm_1", "screening", {**SCREENING, "sex": "1", "pregnant": ""})

    assert male.warnings == []


def test_bad_values_are_all_listed_and_nothing_is_saved(salt_rct, save):
    save("baseline_arm_1", "baseline", {"height": "160.0", "weight": "64.0"})
    before = snapshot(salt_rct)

    with pytest.raises(InvalidValues) as refused:
        save(
            "baseline_arm_1",
            "baseline",
            {
                "height": "tall",
                "cig_per_day": "1.5",
                "smoking": "7",
                "med_history___dm": "2",
                "salt_habit": "101",
                "shoe_size": "42",
            },
        )

    assert [(p.field, p.value, p.rule) for p in refused.value.problems] == [
        ("height", "tall", "number_1dp"),
        ("cig_per_day", "1.5", "integer"),
        ("smoking", "7", "choice"),
        ("med_history___dm", "2", "boolean"),
        ("salt_habit", "101", "slider"),
        ("shoe_size", "42", "unknown_field"),
    ]
    assert refused.value.problems[0].message == "tall is not a valid number_1dp value for height."
    assert refused.value.problems[5].message == "shoe_size is not a field of this form."
    assert snapshot(salt_rct) == before


@pytest.mark.parametrize("value", ["²", "-0", "9" * 5000, "٣"])
def test_a_slider_value_that_is_no_plain_whole_number_is_refused(salt_rct, save, value):
    before = snapshot(salt_rct)
    with pytest.raises(InvalidValues) as refused:
        save("baseline_arm_1", "baseline", {"salt_habit": value})
    assert [(p.field, p.rule) for p in refused.value.problems] == [("salt_habit", "slider")]
    assert snapshot(salt_rct) == before


def test_an_impossible_date_is_refused(salt_rct, save):
    before = snapshot(salt_rct)
    with pytest.raises(InvalidValues) as refused:
        save("screening_arm_1", "screening", {**SCREENING, "dob": "2004-02-30"})
    assert [(p.field, p.rule) for p in refused.value.problems] == [("dob", "date_ymd")]
    assert snapshot(salt_rct) == before


@pytest.mark.parametrize(
    ("event", "form_name", "instance"),
    [
        ("screening_arm_1", "baseline", 1),  # not designated for the event
        ("baseline_arm_1", "no_such_form", 1),
        ("baseline_arm_1", "baseline", 2),  # baseline does not repeat
        ("week_4_arm_1", "adverse_event", 0),
    ],
)
def test_a_form_the_event_does_not_hold_is_refused(salt_rct, save, event, form_name, instance):
    before = snapshot(salt_rct)
    with pytest.raises(InvalidInput):
        save(event, form_name, {}, instance=instance)
    assert snapshot(salt_rct) == before


def test_a_stale_save_is_refused_naming_what_the_other_user_changed(salt_rct, save):
    loaded = save("baseline_arm_1", "baseline", {"height": "160.0", "weight": "64.0"})
    page_values = dict(loaded.form.values)
    save("baseline_arm_1", "baseline", {"weight": "66.0", "smoking": "0"}, base_version=1)
    before = snapshot(salt_rct)

    with pytest.raises(SaveConflict) as conflict:
        save(
            "baseline_arm_1",
            "baseline",
            {"height": "161.0", "weight": "64.0"},
            base_version=1,
            base_values=page_values,
        )

    assert conflict.value.theirs == {
        "bmi": ("25", "25.8"),
        "smoking": ("", "0"),
        "weight": ("64.0", "66.0"),
    }
    assert conflict.value.current.version == 2
    assert snapshot(salt_rct) == before


def test_a_stale_save_without_the_loaded_values_compares_with_what_was_submitted(save):
    save("baseline_arm_1", "baseline", {"height": "160.0", "weight": "64.0"})
    save("baseline_arm_1", "baseline", {"weight": "66.0"}, base_version=1)

    with pytest.raises(SaveConflict) as conflict:
        save("baseline_arm_1", "baseline", {"height": "160.0", "weight": "65.0"}, base_version=1)

    assert conflict.value.theirs == {"weight": ("65.0", "66.0")}


def test_a_new_form_saved_by_someone_else_first_is_a_conflict(save):
    save("baseline_arm_1", "baseline", {"height": "160.0"}, base_version=0)

    with pytest.raises(SaveConflict) as conflict:
        save("baseline_arm_1", "baseline", {"height": "170.0"}, base_version=0)

    assert conflict.value.theirs == {"height": ("170.0", "160.0")}


def test_deleting_a_form_audits_its_old_values(salt_rct, save, paula_context, osaka_record, events):
    save("week_4_arm_1", "adverse_event", {"ae_term": "Cough", "ae_grade": "1"}, instance=3)

    form_delete(
        context=paula_context,
        record=osaka_record,
        event=events["week_4_arm_1"],
        form_name="adverse_event",
        instance=3,
        reason="Duplicate",
    )

    assert not FormData.objects.exists()
    assert list(
        AuditEvent.objects.filter(action="form.delete").values_list("instance", "changes", "reason")
    ) == [
        (
            3,
            {
                "ae_grade": ["1", ""],
                "ae_term": ["Cough", ""],
                "adverse_event_complete": ["0", ""],
            },
            "Duplicate",
        )
    ]


def test_deleting_a_form_without_data_is_refused(salt_rct, paula_context, osaka_record, events):
    before = snapshot(salt_rct)
    with pytest.raises(InvalidInput):
        form_delete(
            context=paula_context,
            record=osaka_record,
            event=events["baseline_arm_1"],
            form_name="baseline",
        )
    assert snapshot(salt_rct) == before
