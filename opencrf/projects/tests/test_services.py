from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.core.errors import InvalidInput
from opencrf.projects.models import Event, EventInstrument, ProjectMember, ProjectStatus
from opencrf.projects.services import (
    EventSpec,
    arm_create,
    arm_delete,
    arms_events_replace,
    event_create,
    event_delete,
    event_instruments_set,
    event_update,
    group_create,
    project_create,
    project_update_settings,
    repeat_settings_set,
)

pytestmark = pytest.mark.django_db


def _actions(project):
    return list(AuditEvent.objects.filter(project_id=project.pk).values_list("action", flat=True))


def test_a_new_project_has_arm_1_and_event_1_and_its_creator_designs_it(paula_context, pi_paula):
    project = project_create(context=paula_context, title="  Heart study  ")

    assert project.title == "Heart study"
    assert project.status == ProjectStatus.DEVELOPMENT
    assert list(project.events.values_list("unique_name", "arm__number")) == [("event_1_arm_1", 1)]
    assert ProjectMember.objects.get(project=project).user == pi_paula
    assert ProjectMember.objects.get(project=project).can_design
    assert _actions(project) == ["project.create"]


def test_a_project_without_a_title_is_refused(paula_context):
    with pytest.raises(InvalidInput):
        project_create(context=paula_context, title="   ")
    assert not AuditEvent.objects.exists()


def test_settings_changes_are_audited_with_old_and_new_values(paula_context, classic_project):
    changes = project_update_settings(
        context=paula_context, project=classic_project, values={"title": "Renamed", "notes": ""}
    )

    assert changes == {"title": ["Classic study", "Renamed"]}
    entry = AuditEvent.objects.filter(project_id=classic_project.pk).last()
    assert (entry.action, entry.changes) == (
        "project.update",
        {"title": ["Classic study", "Renamed"]},
    )


def test_unknown_settings_are_refused_and_nothing_changes(paula_context, classic_project):
    with pytest.raises(InvalidInput):
        project_update_settings(
            context=paula_context, project=classic_project, values={"status": "production"}
        )
    classic_project.refresh_from_db()
    assert classic_project.status == ProjectStatus.DEVELOPMENT


def test_a_longitudinal_project_with_several_events_cannot_become_classic(
    paula_context, longitudinal_project
):
    event_create(context=paula_context, arm=longitudinal_project.arms.get(), name="Week 4")

    with pytest.raises(InvalidInput):
        project_update_settings(
            context=paula_context, project=longitudinal_project, values={"is_longitudinal": False}
        )
    longitudinal_project.refresh_from_db()
    assert longitudinal_project.is_longitudinal


def test_events_get_redcap_unique_names_in_order(paula_context, longitudinal_project):
    arm = longitudinal_project.arms.get()
    event_create(
        context=paula_context, arm=arm, name="Week 4", day_offset=28, offset_min=3, offset_max=3
    )
    event_create(context=paula_context, arm=arm, name="Event 1")

    events = list(longitudinal_project.events.values_list("unique_name", "position", "day_offset"))
    assert events == [("event_1_arm_1", 0, 0), ("week_4_arm_1", 2, 28), ("event_1_2_arm_1", 3, 0)]


def test_a_classic_project_refuses_new_events(paula_context, classic_project):
    with pytest.raises(InvalidInput):
        event_create(context=paula_context, arm=classic_project.arms.get(), name="Visit 2")
    assert classic_project.events.count() == 1


def test_an_event_with_a_negative_window_is_refused(paula_context, longitudinal_project):
    with pytest.raises(InvalidInput):
        event_create(
            context=paula_context, arm=longitudinal_project.arms.get(), name="W", offset_min=-1
        )
    assert longitudinal_project.events.count() == 1


def test_renaming_an_event_keeps_its_unique_name(paula_context, longitudinal_project):
    event = longitudinal_project.events.get()
    event_update(context=paula_context, event=event, values={"name": "Baseline", "day_offset": 0})

    event.refresh_from_db()
    assert (event.name, event.unique_name) == ("Baseline", "event_1_arm_1")
    assert AuditEvent.objects.filter(action="event.update").get().changes == {
        "name": ["Event 1", "Baseline"]
    }


def test_the_last_event_and_the_last_arm_cannot_be_deleted(paula_context, longitudinal_project):
    with pytest.raises(InvalidInput):
        event_delete(context=paula_context, event=longitudinal_project.events.get())
    with pytest.raises(InvalidInput):
        arm_delete(context=paula_context, arm=longitudinal_project.arms.get())
    assert (longitudinal_project.events.count(), longitudinal_project.arms.count()) == (1, 1)


def test_a_second_arm_takes_events_named_after_it(paula_context, longitudinal_project):
    arm2 = arm_create(context=paula_context, project=longitudinal_project, number=2, name="Drug B")
    event = event_create(context=paula_context, arm=arm2, name="Event 1")

    assert event.unique_name == "event_1_arm_2"
    with pytest.raises(InvalidInput):
        arm_create(context=paula_context, project=longitudinal_project, number=2, name="Again")


def test_designations_are_replaced_as_a_whole(paula_context, longitudinal_project):
    event = longitudinal_project.events.get()
    forms = ["demographics", "vitals"]
    event_instruments_set(
        context=paula_context,
        project=longitudinal_project,
        designations={(event.pk, "demographics"), (event.pk, "vitals")},
        known_forms=forms,
    )
    event_instruments_set(
        context=paula_context,
        project=longitudinal_project,
        designations={(event.pk, "vitals")},
        known_forms=forms,
    )

    assert list(EventInstrument.objects.values_list("form_name", flat=True)) == ["vitals"]
    assert AuditEvent.objects.filter(action="mapping.update").last().changes == {
        "added": [],
        "removed": ["event_1_arm_1:demographics"],
    }


def test_a_designation_of_an_unknown_form_or_another_projects_event_is_refused(
    paula_context, longitudinal_project, classic_project
):
    foreign = classic_project.events.get()
    with pytest.raises(InvalidInput):
        event_instruments_set(
            context=paula_context,
            project=longitudinal_project,
            designations={(foreign.pk, "demographics")},
            known_forms=["demographics"],
        )
    with pytest.raises(InvalidInput):
        event_instruments_set(
            context=paula_context,
            project=longitudinal_project,
            designations={(longitudinal_project.events.get().pk, "nope")},
            known_forms=["demographics"],
        )
    assert not EventInstrument.objects.exists()


def test_an_event_cannot_both_repeat_and_hold_repeating_forms(paula_context, longitudinal_project):
    event = longitudinal_project.events.get()
    with pytest.raises(InvalidInput):
        repeat_settings_set(
            context=paula_context,
            project=longitudinal_project,
            settings={(event.pk, ""): "", (event.pk, "ae"): "[ae_term]"},
            known_forms=["ae"],
        )
    assert not event.repeats.exists()


def test_repeat_settings_keep_their_custom_labels(paula_context, longitudinal_project):
    event = longitudinal_project.events.get()
    repeat_settings_set(
        context=paula_context,
        project=longitudinal_project,
        settings={(event.pk, "ae"): " [ae_term] "},
        known_forms=["ae"],
    )
    assert list(event.repeats.values_list("form_name", "custom_label")) == [("ae", "[ae_term]")]


def test_arms_and_events_are_replaced_with_given_unique_names(paula_context, longitudinal_project):
    arms_events_replace(
        context=paula_context,
        project=longitudinal_project,
        arms=[(1, "Drug A"), (2, "Drug B")],
        events=[
            EventSpec(name="Screening", arm_number=1, unique_name="screening_arm_1"),
            EventSpec(name="Week 4", arm_number=1, day_offset=28),
            EventSpec(name="Week 4", arm_number=2),
        ],
    )
    events = Event.objects.filter(project=longitudinal_project)
    assert list(events.values_list("unique_name", "arm__number", "position")) == [
        ("screening_arm_1", 1, 1),
        ("week_4_arm_1", 1, 2),
        ("week_4_arm_2", 2, 1),
    ]


def test_an_event_naming_a_missing_arm_is_refused_and_nothing_changes(
    paula_context, longitudinal_project
):
    with pytest.raises(InvalidInput):
        arms_events_replace(
            context=paula_context,
            project=longitudinal_project,
            arms=[(1, "A")],
            events=[EventSpec(name="Visit", arm_number=3)],
        )
    assert list(longitudinal_project.events.values_list("unique_name", flat=True)) == [
        "event_1_arm_1"
    ]


def test_groups_get_unique_names(paula_context, classic_project):
    first = group_create(context=paula_context, project=classic_project, name="Osaka Central")
    second = group_create(context=paula_context, project=classic_project, name="Osaka central")

    assert (first.unique_name, second.unique_name) == ("osaka_central", "osaka_central_2")
    with pytest.raises(InvalidInput):
        group_create(
            context=paula_context, project=classic_project, name="X", unique_name="osaka_central"
        )


def test_a_classic_projects_designations_cannot_be_changed(paula_context, classic_project):
    with pytest.raises(InvalidInput):
        event_instruments_set(
            context=paula_context, project=classic_project, designations=set(), known_forms=[]
        )


def test_a_generated_event_name_never_takes_a_name_given_later(paula_context, longitudinal_project):
    arms_events_replace(
        context=paula_context,
        project=longitudinal_project,
        arms=[(1, "A")],
        events=[
            EventSpec(name="Visit", arm_number=1),
            EventSpec(name="V", arm_number=1, unique_name="visit_arm_1"),
        ],
    )
    assert list(longitudinal_project.events.values_list("unique_name", flat=True)) == [
        "visit_2_arm_1",
        "visit_arm_1",
    ]
