"""Schedules: generated from the start date exactly, kept in step with it, statuses by date."""

from __future__ import annotations

from datetime import date

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.projects.models import EventInstrument
from opencrf.projects.services import arm_create, event_create, event_update
from opencrf.records.services import form_save, record_create
from opencrf.scheduling import selectors, services
from opencrf.scheduling.models import Schedule, ScheduleAnchor, ScheduleSource, Visit

from .conftest import d, save_consent

pytestmark = pytest.mark.django_db


def plan_of(record) -> list[tuple[str, str, str, str, str, bool]]:
    visits = Visit.objects.filter(record=record).order_by("event__position")
    return [
        (
            v.event.unique_name,
            v.protocol_date.isoformat(),
            v.window_start.isoformat(),
            v.window_end.isoformat(),
            v.planned_date.isoformat(),
            v.moved,
        )
        for v in visits
    ]


EXPECTED_FROM_JAN_10 = [
    ("screening_arm_1", "2026-01-10", "2026-01-10", "2026-01-10", "2026-01-10", False),
    ("baseline_arm_1", "2026-01-24", "2026-01-21", "2026-01-27", "2026-01-24", False),
    ("week_4_arm_1", "2026-02-21", "2026-02-14", "2026-02-28", "2026-02-21", False),
    ("week_12_arm_1", "2026-04-18", "2026-04-11", "2026-05-02", "2026-04-18", False),
    ("week_24_arm_1", "2026-07-11", "2026-06-27", "2026-07-25", "2026-07-11", False),
]


def test_choosing_the_start_field_builds_the_schedules_of_existing_records_exactly(
    study, make_record, paula_context, events
):
    record = make_record("1-1", "osaka_central", consent="2026-01-10")
    waiting = make_record("1-2", "osaka_central")  # no consent date yet

    changed = services.anchor_set(
        context=paula_context,
        project=study,
        arm=study.arms.get(number=1),
        field_name="consent_date",
        event=events["screening_arm_1"],
    )

    assert changed == 1
    assert plan_of(record) == EXPECTED_FROM_JAN_10
    assert plan_of(waiting) == []
    schedule = Schedule.objects.get(record=record)
    assert (schedule.start_date, schedule.source) == (d("2026-01-10"), ScheduleSource.FIELD)
    logged = AuditEvent.objects.filter(project_id=study.pk, action__startswith="schedule.")
    assert list(logged.values_list("action", "record", "changes")) == [
        ("schedule.anchor", "", {"start_field": ["", "consent_date"]}),
        ("schedule.generate", "1-1", {"start_date": ["", "2026-01-10"]}),
    ]


def test_saving_the_start_date_generates_the_schedule_after_the_commit(
    anchored, make_record, paula_context, events, django_capture_on_commit_callbacks
):
    record = make_record("1-1", "osaka_central")

    with django_capture_on_commit_callbacks(execute=True):
        save_consent(paula_context, record, events, "2026-01-10")

    assert plan_of(record) == EXPECTED_FROM_JAN_10
    entry = AuditEvent.objects.get(action="schedule.generate")
    assert (entry.source, entry.record, entry.record_key) == ("system", "1-1", record.pk)


def test_a_new_start_date_moves_the_schedule_and_keeps_a_visit_moved_by_hand(
    anchored, make_record, paula_context, pi_paula, events, django_capture_on_commit_callbacks
):
    record = make_record("1-1", "osaka_central", consent="2026-01-10")
    week_4 = Visit.objects.get(record=record, event=events["week_4_arm_1"])
    services.visit_move(
        context=paula_context,
        user=pi_paula,
        visit=week_4,
        planned=d("2026-02-25"),
        reason="Holiday",
    )

    with django_capture_on_commit_callbacks(execute=True):
        save_consent(paula_context, record, events, "2026-01-17", version=1)

    plan = plan_of(record)
    assert plan[0] == (
        "screening_arm_1",
        "2026-01-17",
        "2026-01-17",
        "2026-01-17",
        "2026-01-17",
        False,
    )
    assert plan[2] == ("week_4_arm_1", "2026-02-28", "2026-02-21", "2026-03-07", "2026-02-25", True)
    assert plan[4] == (
        "week_24_arm_1",
        "2026-07-18",
        "2026-07-04",
        "2026-08-01",
        "2026-07-18",
        False,
    )
    moves = AuditEvent.objects.filter(action="schedule.visit_move")
    assert list(moves.values_list("record", "event", "changes", "reason")) == [
        ("1-1", "week_4_arm_1", {"planned_date": ["2026-02-21", "2026-02-25"]}, "Holiday")
    ]
    assert list(
        AuditEvent.objects.filter(action="schedule.regenerate").values_list("changes", flat=True)
    ) == [{"start_date": ["2026-01-10", "2026-01-17"]}]


def test_saving_the_same_start_date_again_changes_nothing(
    anchored, make_record, paula_context, events, django_capture_on_commit_callbacks
):
    record = make_record("1-1", "osaka_central", consent="2026-01-10")
    before = list(Visit.objects.filter(record=record).values_list("pk", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        form_save(
            context=paula_context,
            record=record,
            event=events["screening_arm_1"],
            form_name="screening",
            values={"consent_date": "2026-01-10", "initials": "AB"},
            base_version=1,
        )

    assert list(Visit.objects.filter(record=record).values_list("pk", flat=True)) == before
    assert not AuditEvent.objects.filter(action="schedule.regenerate").exists()


def test_clearing_the_start_date_removes_the_schedule(
    anchored, make_record, paula_context, events, django_capture_on_commit_callbacks
):
    record = make_record("1-1", "osaka_central", consent="2026-01-10")

    with django_capture_on_commit_callbacks(execute=True):
        save_consent(paula_context, record, events, "", version=1)

    assert not Schedule.objects.filter(record=record).exists()
    assert not Visit.objects.filter(record=record).exists()
    deleted = AuditEvent.objects.get(action="schedule.delete")
    assert deleted.changes == {"start_date": ["2026-01-10", ""]}


def test_moving_a_visit_back_puts_it_on_its_protocol_date(
    anchored, make_record, paula_context, pi_paula, events
):
    record = make_record("1-1", "osaka_central", consent="2026-01-10")
    visit = Visit.objects.get(record=record, event=events["baseline_arm_1"])
    services.visit_move(context=paula_context, user=pi_paula, visit=visit, planned=d("2026-01-30"))

    services.visit_move(context=paula_context, user=pi_paula, visit=visit, planned=None)

    visit.refresh_from_db()
    assert (visit.planned_date, visit.moved) == (d("2026-01-24"), False)
    assert list(
        AuditEvent.objects.filter(action="schedule.visit_move").values_list("changes", flat=True)
    ) == [
        {"planned_date": ["2026-01-24", "2026-01-30"]},
        {"planned_date": ["2026-01-30", "2026-01-24"]},
    ]


def test_a_monitor_without_the_right_cannot_move_a_visit(anchored, make_record, mo, events):
    record = make_record("1-1", "osaka_central", consent="2026-01-10")
    visit = Visit.objects.get(record=record, event=events["baseline_arm_1"])
    before = AuditEvent.objects.count()

    with pytest.raises(PermissionDenied):
        services.visit_move(
            context=AuditContext(actor=mo), user=mo, visit=visit, planned=d("2026-01-30")
        )

    visit.refresh_from_db()
    assert (visit.planned_date, visit.moved) == (d("2026-01-24"), False)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("today", "status"),
    [
        ("2026-02-13", "upcoming"),  # the day before the window opens
        ("2026-02-14", "due"),  # the window's first day
        ("2026-02-21", "due"),  # the protocol date
        ("2026-02-28", "due"),  # the window's last day
        ("2026-03-01", "overdue"),  # the day after
    ],
)
def test_a_visits_status_follows_its_window_to_the_day(
    anchored, make_record, sam, events, today, status
):
    record = make_record("1-1", "osaka_central", consent="2026-01-10")
    day = d(today)

    visits = selectors.visits_visible_to(sam, anchored).filter(event=events["week_4_arm_1"])

    assert [selectors.visit_status(v, day) for v in visits] == [status]
    found = visits.filter(selectors.status_filter(status, day))
    assert [v.record_id for v in found] == [record.pk]


def test_a_visit_is_done_once_any_form_of_its_event_is_saved_whatever_the_date(
    anchored, make_record, paula_context, sam, events
):
    record = make_record("1-1", "osaka_central", consent="2026-01-10")
    form_save(
        context=paula_context,
        record=record,
        event=events["week_4_arm_1"],
        form_name="adverse_event",
        values={"ae_onset": "2026-02-01"},
        base_version=0,
    )

    visits = selectors.visits_visible_to(sam, anchored).order_by("event__position")
    on_march_1 = {v.event.unique_name: selectors.visit_status(v, d("2026-03-01")) for v in visits}

    assert on_march_1 == {
        "screening_arm_1": "done",  # the consent date was saved on the screening form
        "baseline_arm_1": "overdue",
        "week_4_arm_1": "done",
        "week_12_arm_1": "upcoming",
        "week_24_arm_1": "upcoming",
    }


def test_overdue_visits_lists_every_site_with_plain_values(anchored, make_record, events):
    make_record("1-1", "osaka_central", consent="2026-01-10")
    kyoto = make_record("2-1", "kyoto_north", consent="2026-01-01")

    overdue = selectors.overdue_visits(anchored, d("2026-01-28"))

    assert [(v.record_id, v.event_name, v.days_overdue) for v in overdue] == [
        ("2-1", "baseline_arm_1", 10),  # window end 2026-01-18
        ("1-1", "baseline_arm_1", 1),  # window end 2026-01-27
    ]
    first = overdue[0]
    assert (first.record_key, first.group_id, first.window_end) == (
        kyoto.pk,
        kyoto.group_id,
        d("2026-01-18"),
    )


def test_each_arm_has_its_own_start_field_and_its_own_events(
    study, paula_context, pi_paula, events
):
    arm_2 = arm_create(context=paula_context, project=study, number=2, name="Control")
    enrol = event_create(
        context=paula_context, arm=arm_2, name="Enrolment", day_offset=-3, offset_max=2
    )
    follow = event_create(
        context=paula_context, arm=arm_2, name="Follow-up", day_offset=30, offset_min=5
    )
    pairs = [*EventInstrument.objects.values_list("event_id", "form_name"), (enrol.pk, "screening")]
    from opencrf.projects.services import event_instruments_set

    forms = study.instruments.values_list("name", flat=True)
    event_instruments_set(
        context=paula_context, project=study, designations=pairs, known_forms=forms
    )
    services.anchor_set(
        context=paula_context,
        project=study,
        arm=study.arms.get(number=1),
        field_name="consent_date",
        event=events["screening_arm_1"],
    )
    control = record_create(context=paula_context, project=study, record_id="9", arm=arm_2)

    # Arm 2 has no start field: its schedule is generated from a date chosen by hand.
    services.schedule_generate(
        context=paula_context, user=pi_paula, record=control, arm=arm_2, start=d("2026-03-01")
    )

    assert plan_of(control) == [
        (enrol.unique_name, "2026-02-26", "2026-02-26", "2026-02-28", "2026-02-26", False),
        (follow.unique_name, "2026-03-31", "2026-03-26", "2026-03-31", "2026-03-31", False),
    ]
    with pytest.raises(InvalidInput, match="The record is not in this arm"):
        services.schedule_generate(
            context=paula_context,
            user=pi_paula,
            record=control,
            arm=study.arms.get(number=1),
            start=d("2026-03-01"),
        )


def test_generating_by_hand_is_refused_where_a_start_field_rules(
    anchored, make_record, paula_context, pi_paula
):
    record = make_record("1-1", "osaka_central")

    with pytest.raises(InvalidInput, match="starts from the field consent_date"):
        services.schedule_generate(
            context=paula_context,
            user=pi_paula,
            record=record,
            arm=anchored.arms.get(number=1),
            start=d("2026-03-01"),
        )

    assert not Schedule.objects.exists()


@pytest.mark.parametrize(
    ("field_name", "event_name", "message"),
    [
        ("initials", "screening_arm_1", "initials is not a date field"),
        ("no_such_field", "screening_arm_1", "no_such_field is not a date field"),
        ("visit_date", "screening_arm_1", "visit_date is not collected at"),
    ],
)
def test_a_start_field_must_be_a_date_collected_at_the_chosen_event(
    study, paula_context, events, field_name, event_name, message
):
    before = AuditEvent.objects.count()

    with pytest.raises(InvalidInput, match=message):
        services.anchor_set(
            context=paula_context,
            project=study,
            arm=study.arms.get(number=1),
            field_name=field_name,
            event=events[event_name],
        )

    assert not ScheduleAnchor.objects.exists()
    assert AuditEvent.objects.count() == before


def test_rebuilding_applies_changed_offsets_and_keeps_moves(
    anchored, make_record, paula_context, pi_paula, events
):
    record = make_record("1-1", "osaka_central", consent="2026-01-10")
    week_12 = Visit.objects.get(record=record, event=events["week_12_arm_1"])
    services.visit_move(
        context=paula_context, user=pi_paula, visit=week_12, planned=d("2026-04-20")
    )
    event_update(
        context=paula_context,
        event=events["baseline_arm_1"],
        values={"day_offset": 15, "offset_min": 1, "offset_max": 5},
    )
    event_update(context=paula_context, event=events["week_12_arm_1"], values={"day_offset": 99})

    changed = services.schedules_rebuild(context=paula_context, project=anchored)

    assert changed == 1
    plan = plan_of(record)
    assert plan[1] == (
        "baseline_arm_1",
        "2026-01-25",
        "2026-01-24",
        "2026-01-30",
        "2026-01-25",
        False,
    )
    assert plan[3] == (
        "week_12_arm_1",
        "2026-04-19",
        "2026-04-12",
        "2026-05-03",
        "2026-04-20",
        True,
    )


def test_a_start_date_that_is_not_a_date_leaves_no_schedule(
    anchored, make_record, events, django_capture_on_commit_callbacks
):
    from opencrf.scheduling.dates import stored_date

    record = make_record("1-1", "osaka_central")

    assert stored_date("2026-02-30") is None
    assert stored_date("0001-01-01") is None
    assert stored_date("2026-01-10 09:30") == date(2026, 1, 10)
    assert not Schedule.objects.filter(record=record).exists()
