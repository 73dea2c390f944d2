"""Randomizing a record: the next row of its stratum, written once, then read-only everywhere."""

from __future__ import annotations

import random

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.design import design_of
from opencrf.projects.lifecycle import project_status_move
from opencrf.randomization.minimization import count_in, minimize
from opencrf.randomization.models import Allocation, AllocationRow
from opencrf.randomization.services import (
    development_allocations_erase,
    record_randomize,
    setup_save,
    table_generate,
    table_upload,
)
from opencrf.randomization.tests.conftest import FORM, enrol, stratified
from opencrf.records.bulk import FormWrite, forms_write_many
from opencrf.records.errors import InvalidValues
from opencrf.records.models import FormData
from opencrf.records.services import form_save

pytestmark = pytest.mark.django_db


def table_csv(site_a, site_b, lines):
    header = "arm,sex,redcap_data_access_group\n"
    ids = {"A": site_a.pk, "B": site_b.pk}
    return (header + "".join(f"{arm},{sex},{ids[site]}\n" for arm, sex, site in lines)).encode()


@pytest.fixture
def tables(setup, trial, site_a, site_b, paula_context):
    lines = [("2", "1", "A"), ("1", "1", "A"), ("1", "2", "A"), ("2", "1", "B"), ("1", "1", "B")]
    for environment in ("development", "production"):
        table_upload(
            context=paula_context,
            project=trial,
            environment=environment,
            data=table_csv(site_a, site_b, lines),
            file_name="t.csv",
        )
    return lines


def arm_of(record):
    form = FormData.objects.get(record=record, form_name=FORM)
    return form.values.get("arm", "")


def test_records_take_the_next_rows_of_their_stratum_in_order(
    tables, trial, site_a, site_b, site_a_sam, context_of, paula_context
):
    sam = context_of(site_a_sam)
    first = enrol(sam, trial, "A-1", site_a, {"sex": "1"})
    second = enrol(sam, trial, "A-2", site_a, {"sex": "1"})
    other_stratum = enrol(sam, trial, "A-3", site_a, {"sex": "2"})

    allocations = [
        record_randomize(context=sam, project=trial, record=r)
        for r in (first, second, other_stratum)
    ]

    assert [(a.arm, a.row.position, a.environment, a.sequence) for a in allocations] == [
        ("2", 1, "development", 1),
        ("1", 2, "development", 2),
        ("1", 3, "development", 3),
    ]
    assert [arm_of(r) for r in (first, second, other_stratum)] == ["2", "1", "1"]
    entry = AuditEvent.objects.filter(action="randomization.allocate").first()
    assert (entry.record, entry.actor_name, entry.details) == (
        "A-1",
        "site_a_sam",
        "Randomized: row 1 of the development table, allocation 1",
    )
    update = AuditEvent.objects.get(action="form.update", record="A-1", reason="Randomization")
    assert update.changes == {"arm": ["", "2"]}


def test_a_record_is_randomized_once(tables, trial, site_a, site_a_sam, context_of):
    sam = context_of(site_a_sam)
    record = enrol(sam, trial, "A-1", site_a, {"sex": "1"})
    record_randomize(context=sam, project=trial, record=record)

    with pytest.raises(InvalidInput) as refused:
        record_randomize(context=sam, project=trial, record=record)

    assert refused.value.message == "Record A-1 is randomized already."
    assert Allocation.objects.count() == 1
    assert AllocationRow.objects.filter(used=True).count() == 1


def test_a_missing_stratum_is_refused_and_nothing_changes(
    tables, trial, site_a, site_a_sam, context_of
):
    sam = context_of(site_a_sam)
    record = enrol(sam, trial, "A-1", site_a, {"note": "no sex yet"})
    before = AuditEvent.objects.count()

    with pytest.raises(InvalidInput) as refused:
        record_randomize(context=sam, project=trial, record=record)

    assert refused.value.message == "Record A-1 cannot be randomized: enter sex first."
    assert (Allocation.objects.count(), AuditEvent.objects.count()) == (0, before)
    assert AllocationRow.objects.filter(used=True).count() == 0
    assert arm_of(record) == ""


def test_a_record_without_a_site_cannot_be_randomized_by_site(tables, trial, paula_context):
    record = enrol(paula_context, trial, "N-1", None, {"sex": "1"})

    with pytest.raises(InvalidInput) as refused:
        record_randomize(context=paula_context, project=trial, record=record)

    assert refused.value.message == (
        "Record N-1 cannot be randomized: enter data access group first."
    )


def test_an_exhausted_stratum_refuses_and_uses_nothing(
    tables, trial, site_b, kyoto_bea, context_of
):
    bea = context_of(kyoto_bea)
    for n in (1, 2):
        record = enrol(bea, trial, f"B-{n}", site_b, {"sex": "1"})
        record_randomize(context=bea, project=trial, record=record)
    third = enrol(bea, trial, "B-3", site_b, {"sex": "1"})

    with pytest.raises(InvalidInput) as refused:
        record_randomize(context=bea, project=trial, record=third)

    assert refused.value.message.startswith("No allocation is left in the Development table")
    assert Allocation.objects.count() == 2


def test_without_the_randomize_right_nothing_is_allocated(
    tables, trial, site_a, monitor_mo, paula_context, context_of
):
    record = enrol(paula_context, trial, "A-1", site_a, {"sex": "1"})

    with pytest.raises(PermissionDenied):
        record_randomize(context=context_of(monitor_mo), project=trial, record=record)

    assert Allocation.objects.count() == 0


@pytest.mark.parametrize("source", ["web", "api", "import", "survey", "system"])
def test_the_allocation_field_cannot_be_entered_or_changed_by_any_path(
    tables, trial, site_a, event, paula_context, context_of, pi_paula, source
):
    context = context_of(pi_paula, source)
    record = enrol(paula_context, trial, "A-1", site_a, {"sex": "1"})
    with pytest.raises(InvalidValues) as entered:
        form_save(
            context=context,
            record=record,
            event=event,
            form_name=FORM,
            values={"arm": "1"},
            base_version=None,
        )
    record_randomize(context=paula_context, project=trial, record=record)
    before = AuditEvent.objects.count()

    with pytest.raises(InvalidValues) as changed:
        forms_write_many(
            context=context,
            project=trial,
            design=design_of(trial),
            writes=[FormWrite(record, event, FORM, 1, {"arm": "1"})],
        )
    with pytest.raises(InvalidValues):
        form_save(
            context=context,
            record=record,
            event=event,
            form_name=FORM,
            values={"arm": ""},
            base_version=None,
        )

    assert [p.message for p in entered.value.problems] == [
        "arm of record A-1 is set by randomization: it cannot be entered or changed by hand; "
        "nothing was saved."
    ]
    assert [p.rule for p in changed.value.problems] == ["randomization"]
    assert arm_of(record) == "2"
    assert AuditEvent.objects.count() == before


def test_other_fields_of_the_form_save_as_usual_after_randomization(
    tables, trial, site_a, event, paula_context
):
    record = enrol(paula_context, trial, "A-1", site_a, {"sex": "1"})
    record_randomize(context=paula_context, project=trial, record=record)

    form_save(
        context=paula_context,
        record=record,
        event=event,
        form_name=FORM,
        values={"note": "seen", "arm": "2"},
        base_version=None,
    )

    values = FormData.objects.get(record=record).values
    assert (values["note"], values["arm"]) == ("seen", "2")


def test_production_uses_its_own_table_and_locks_it(
    tables, trial, site_a, paula_context, admin_ada, context_of
):
    dev = enrol(paula_context, trial, "A-1", site_a, {"sex": "1"})
    record_randomize(context=paula_context, project=trial, record=dev)
    project_status_move(context=paula_context, project=trial, to="production", reason="go")
    live = enrol(paula_context, trial, "A-2", site_a, {"sex": "1"})

    allocation = record_randomize(context=paula_context, project=trial, record=live)

    assert (allocation.environment, allocation.row.position, allocation.sequence) == (
        "production",
        1,
        1,
    )
    with pytest.raises(PermissionDenied):
        table_generate(
            context=paula_context,
            project=trial,
            environment="production",
            block_sizes="2",
            blocks=1,
            reason="more",
        )
    ada = context_of(admin_ada)
    with pytest.raises(InvalidInput) as no_reason:
        table_generate(
            context=ada, project=trial, environment="production", block_sizes="2", blocks=1
        )
    assert no_reason.value.message == (
        "Give a reason for changing the production table; nothing was saved."
    )
    table_generate(
        context=ada,
        project=trial,
        environment="production",
        block_sizes="2",
        blocks=1,
        seed="s1",
        reason="Site C joins",
    )
    rows = AllocationRow.objects.filter(table__environment="production")
    assert rows.count() == 5 + 4 * 2
    assert list(rows.filter(position__lte=5).values_list("arm", flat=True)) == [
        "2",
        "1",
        "1",
        "2",
        "1",
    ]
    entry = AuditEvent.objects.filter(action="randomization.table_add").get()
    assert (entry.actor_name, entry.reason) == ("admin_ada", "Site C joins")


def test_the_move_to_production_waits_for_a_production_table(setup, trial, paula_context):
    with pytest.raises(InvalidInput) as refused:
        project_status_move(context=paula_context, project=trial, to="production", reason="go")

    assert refused.value.message.startswith("Randomization needs a production allocation table")
    trial.refresh_from_db()
    assert trial.status == "development"


def test_the_setup_is_locked_after_development(tables, trial, event, paula_context):
    project_status_move(context=paula_context, project=trial, to="production", reason="go")

    with pytest.raises(InvalidInput):
        setup_save(context=paula_context, project=trial, data=stratified(trial, event))


def test_a_used_development_table_is_replaced_only_after_erasing_its_allocations(
    tables, trial, site_a, site_b, paula_context
):
    record = enrol(paula_context, trial, "A-1", site_a, {"sex": "1"})
    record_randomize(context=paula_context, project=trial, record=record)
    data = table_csv(site_a, site_b, [("1", "1", "A")])
    with pytest.raises(InvalidInput):
        table_upload(
            context=paula_context,
            project=trial,
            environment="development",
            data=data,
            file_name="x.csv",
        )

    assert development_allocations_erase(context=paula_context, project=trial) == 1
    table_upload(
        context=paula_context,
        project=trial,
        environment="development",
        data=data,
        file_name="x.csv",
    )
    assert arm_of(record) == ""
    assert Allocation.objects.count() == 0


def test_a_bad_upload_changes_nothing(tables, trial, site_a, site_b, paula_context):
    before = list(AllocationRow.objects.values_list("pk", "arm"))
    audit = AuditEvent.objects.count()

    with pytest.raises(InvalidInput):
        table_upload(
            context=paula_context,
            project=trial,
            environment="development",
            data=b"arm,sex,redcap_data_access_group\n5,1,1\n",
            file_name="bad.csv",
        )

    assert list(AllocationRow.objects.values_list("pk", "arm")) == before
    assert AuditEvent.objects.count() == audit


def test_minimization_records_its_state_and_replays_from_the_seed(
    trial, event, site_a, site_b, paula_context
):
    data = stratified(trial, event, method="minimization", group=True, weights={"sex": 2})
    setup = setup_save(context=paula_context, project=trial, data=data)
    records = [
        enrol(
            paula_context, trial, f"R-{n}", site_a if n % 2 else site_b, {"sex": str(1 + n % 3 % 2)}
        )
        for n in range(1, 9)
    ]

    allocations = [
        record_randomize(context=paula_context, project=trial, record=r) for r in records
    ]

    first = allocations[0]
    assert set(first.state) == {
        "scores",
        "preferred",
        "draw",
        "followed_preference",
        "p",
        "weights",
    }
    assert first.state["weights"] == {"sex": 2.0, "redcap_data_access_group": 1.0}
    assert [arm_of(r) for r in records] == [a.arm for a in allocations]
    # Replaying: the same seed, sequence and earlier allocations give the same arms.
    counts: dict = {}
    for allocation in allocations:
        rng = random.Random(f"{setup.seed}:development:{allocation.sequence}")
        again = minimize(
            counts,
            allocation.stratum,
            first.state["weights"],
            ["1", "2"],
            {"1": 1, "2": 1},
            0.8,
            rng,
        )
        assert again.arm == allocation.arm
        count_in(counts, allocation.stratum, again.arm)
