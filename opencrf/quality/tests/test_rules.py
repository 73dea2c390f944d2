"""Every rule type on the demo study with planted problems: each found, nothing else found.

Problems are planted straight into stored values, as data entered before a dictionary change
would be (a save through the services would refuse most of them).
"""

from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.quality.dq_models import DataQualityExclusion, DataQualityResult
from opencrf.quality.rules_services import (
    result_exclude,
    rule_create,
    rule_move,
    rule_update,
    run_execute,
    run_request,
    run_results,
)
from opencrf.records.models import FormData
from opencrf.records.services import form_save

pytestmark = pytest.mark.django_db

# What the clean demo study holds: 30 blank, not hidden, optional fields, and one BMI beyond
# two standard deviations of the others.
CLEAN_OUTLIERS = [("1-1", "baseline_arm_1", 1, "bmi", "26.5")]


def plant(project, record_id, event, form, instance=1, **values):
    stored = FormData.objects.get(
        record__project=project,
        record__record_id=record_id,
        event__unique_name=event,
        form_name=form,
        instance=instance,
    )
    for key, value in values.items():
        if value is None:
            stored.values.pop(key, None)
        else:
            stored.values[key] = value
    stored.save()


def found(user, project, *keys):
    run = run_execute(run_request(user=user, project=project, rule_keys=list(keys)).pk)
    assert run.status == "done"
    return {
        key: [
            (r.record.record_id, r.event.unique_name, r.instance, r.field_name, r.value)
            for r in run_results(user, project, run, key)
        ]
        for key in run.rule_keys
    }, run


def test_the_clean_demo_study_has_only_blank_optional_fields_and_one_outlier(demo, pi_paula):
    results, run = found(pi_paula, demo, "all")

    assert {key: len(rows) for key, rows in results.items() if rows} == {"A": 30, "E": 1}
    assert results["E"] == CLEAN_OUTLIERS
    assert (run.records_done, run.records_total) == (12, 12)


def test_blank_values_all_and_required_only(demo, pi_paula):
    before, _run = found(pi_paula, demo, "A")
    plant(demo, "3-2", "screening_arm_1", "enrolment", sex=None)

    results, _run = found(pi_paula, demo, "A", "B")

    assert results["B"] == [("3-2", "screening_arm_1", 1, "sex", "")]
    assert set(results["A"]) - set(before["A"]) == {("3-2", "screening_arm_1", 1, "sex", "")}
    assert len(results["A"]) == len(before["A"]) + 1


def test_hidden_blank_fields_are_not_blank_values(demo, pi_paula):
    results, _run = found(pi_paula, demo, "A")

    # cig_per_day is shown only to smokers: nobody else's blank is counted.
    smokers = {"1-2", "2-1", "2-4", "3-3"}
    assert not [row for row in results["A"] if row[3] == "cig_per_day"]
    assert smokers  # each smoker has a value


def test_incorrect_data_type(demo, pi_paula):
    plant(demo, "1-1", "screening_arm_1", "enrolment", initials="A1")
    plant(demo, "2-2", "week_12_arm_1", "visit", visit_date="2025-02-30")

    results, _run = found(pi_paula, demo, "C")

    assert results["C"] == [
        ("1-1", "screening_arm_1", 1, "initials", "A1"),
        ("2-2", "week_12_arm_1", 1, "visit_date", "2025-02-30"),
    ]


def test_out_of_range(demo, pi_paula):
    plant(demo, "1-2", "baseline_arm_1", "baseline", cig_per_day="90")

    results, _run = found(pi_paula, demo, "D")

    assert results["D"] == [("1-2", "baseline_arm_1", 1, "cig_per_day", "90")]


def test_outliers_beyond_two_standard_deviations(demo, pi_paula):
    plant(demo, "3-3", "baseline_arm_1", "baseline", steps_bl="30000")

    results, _run = found(pi_paula, demo, "E")

    assert results["E"] == [*CLEAN_OUTLIERS, ("3-3", "baseline_arm_1", 1, "steps_bl", "30000")]


def test_hidden_fields_that_contain_values(demo, pi_paula):
    plant(demo, "1-1", "baseline_arm_1", "baseline", cig_per_day="10")  # a never-smoker

    results, _run = found(pi_paula, demo, "F")

    assert results["F"] == [("1-1", "baseline_arm_1", 1, "cig_per_day", "10")]


def test_multiple_choice_fields_with_invalid_values(demo, pi_paula):
    plant(demo, "2-2", "baseline_arm_1", "baseline", smoking="7")
    plant(demo, "2-3", "baseline_arm_1", "baseline", dm_meds___zzz="1")

    results, _run = found(pi_paula, demo, "G")

    assert results["G"] == [
        ("2-2", "baseline_arm_1", 1, "smoking", "7"),
        ("2-3", "baseline_arm_1", 1, "dm_meds", "zzz=1"),
    ]


def test_incorrect_values_for_calculated_fields(demo, pi_paula):
    plant(demo, "3-1", "baseline_arm_1", "baseline", bmi_cat="wrong")

    results, _run = found(pi_paula, demo, "H")

    assert results["H"] == [("3-1", "baseline_arm_1", 1, "bmi_cat", "wrong")]


def test_missing_data_per_event(demo, pi_paula):
    record = demo.records.get(record_id="3-4")  # enrolled, no week 12 visit
    form_save(
        context=AuditContext(actor=pi_paula, source="web"),
        record=record,
        event=demo.events.get(unique_name="week_24_arm_1"),
        form_name="visit",
        values={"visit_date": "2025-12-01", "v_weight": "80.0", "v_hba1c": "7.0"},
        base_version=0,
    )

    results, _run = found(pi_paula, demo, "J")

    assert results["J"] == [("3-4", "week_12_arm_1", 1, "", "")]


def test_missing_data_codes_find_nothing_without_codes(demo, pi_paula):
    results, _run = found(pi_paula, demo, "I")

    assert results["I"] == []


def test_a_custom_rule_finds_the_records_where_its_logic_is_true(demo, pi_paula):
    context = AuditContext(actor=pi_paula, source="web")
    rule = rule_create(
        context=context, project=demo, name="Heavy at baseline", logic="[weight] > 90"
    )

    results, _run = found(pi_paula, demo, rule.key)

    assert results[rule.key] == [
        ("3-3", "baseline_arm_1", 1, "", ""),
        ("3-4", "baseline_arm_1", 1, "", ""),
    ]
    entry = AuditEvent.objects.get(project_id=demo.pk, action="dq_rule.create")
    assert entry.changes["logic"] == ["", "[weight] > 90"]


def test_custom_rules_are_ordered_and_edited(demo, pi_paula):
    context = AuditContext(actor=pi_paula, source="web")
    first = rule_create(context=context, project=demo, name="One", logic="[sex] = '1'")
    second = rule_create(context=context, project=demo, name="Two", logic="[sex] = '2'")

    rule_move(context=context, rule=second, step=-1)
    rule_update(context=context, rule=first, name="Men", logic="[sex] = '1'", check_mode="soft")

    from opencrf.quality.rules_services import project_rules

    assert [(r.name, r.check_mode) for r in project_rules(demo)] == [
        ("Two", "off"),
        ("Men", "soft"),
    ]


def test_a_custom_rule_with_bad_logic_is_refused_and_nothing_is_stored(demo, pi_paula):
    context = AuditContext(actor=pi_paula, source="web")

    with pytest.raises(InvalidInput, match="do not exist: no_such_field"):
        rule_create(context=context, project=demo, name="Bad", logic="[no_such_field] = 1")
    with pytest.raises(InvalidInput, match="cannot be read"):
        rule_create(context=context, project=demo, name="Bad", logic="[weight] >")

    from opencrf.quality.dq_models import DataQualityRule

    assert not DataQualityRule.objects.exists()


def test_an_excluded_result_is_not_shown_again_and_the_exclusion_is_audited(demo, pi_paula):
    plant(demo, "2-2", "baseline_arm_1", "baseline", smoking="7")
    plant(demo, "2-3", "baseline_arm_1", "baseline", dm_meds___zzz="1")
    _results, run = found(pi_paula, demo, "G")
    result = DataQualityResult.objects.get(run=run, field_name="smoking")

    with pytest.raises(InvalidInput):
        result_exclude(
            context=AuditContext(actor=pi_paula, source="web"), result=result, reason="  "
        )
    result_exclude(
        context=AuditContext(actor=pi_paula, source="web"),
        result=result,
        reason="Code 7 is the site's old 'unknown'",
    )
    again, _run = found(pi_paula, demo, "G")

    assert run_results(pi_paula, demo, run, "G")[0].field_name == "dm_meds"
    assert again["G"] == [("2-3", "baseline_arm_1", 1, "dm_meds", "zzz=1")]
    entry = AuditEvent.objects.get(project_id=demo.pk, action="dq_result.exclude")
    assert (entry.record, entry.event, entry.reason) == (
        "2-2",
        "baseline_arm_1",
        "Code 7 is the site's old 'unknown'",
    )
    assert DataQualityExclusion.objects.count() == 1


def test_a_site_user_sees_only_the_site_s_records(demo, site_a_sam):
    plant(demo, "2-2", "baseline_arm_1", "baseline", smoking="7")  # another site's record
    plant(demo, "1-3", "baseline_arm_1", "baseline", smoking="9")

    results, run = found(site_a_sam, demo, "all")

    assert results["G"] == [("1-3", "baseline_arm_1", 1, "smoking", "9")]
    assert {row[0] for rows in results.values() for row in rows} <= {"1-1", "1-2", "1-3", "1-4"}
    assert (run.records_done, run.records_total) == (4, 4)
    assert not DataQualityResult.objects.filter(run=run).exclude(
        record__group__unique_name="toto_univ"
    )


def test_another_site_s_result_cannot_be_excluded(demo, pi_paula, site_a_sam):
    plant(demo, "2-2", "baseline_arm_1", "baseline", smoking="7")
    _results, run = found(pi_paula, demo, "G")
    result = DataQualityResult.objects.get(run=run)

    with pytest.raises(NotFound):
        result_exclude(
            context=AuditContext(actor=site_a_sam, source="web"), result=result, reason="x"
        )
    assert not DataQualityExclusion.objects.exists()


def test_a_member_without_a_data_quality_right_may_not_run_or_design_rules(demo, monitor_mo):
    with pytest.raises(PermissionDenied):
        run_request(user=monitor_mo, project=demo, rule_keys=["all"])
    with pytest.raises(PermissionDenied):
        rule_create(
            context=AuditContext(actor=monitor_mo, source="web"),
            project=demo,
            name="x",
            logic="[sex] = '1'",
        )


def test_a_member_who_may_only_execute_may_not_design_rules(demo, site_a_sam):
    with pytest.raises(PermissionDenied):
        rule_create(
            context=AuditContext(actor=site_a_sam, source="web"),
            project=demo,
            name="x",
            logic="[sex] = '1'",
        )


def test_an_unknown_checkbox_option_is_found_when_no_known_option_is_ticked(demo, pi_paula):
    plant(
        demo,
        "2-4",
        "baseline_arm_1",
        "baseline",
        dm_meds___met="0",
        dm_meds___su="0",
        dm_meds___xx="1",
    )

    results, _run = found(pi_paula, demo, "G")

    assert results["G"] == [("2-4", "baseline_arm_1", 1, "dm_meds", "xx=1")]
