"""The per-process copy of a project's design: kept between requests, renewed by every change."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import transaction

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import design_of
from opencrf.dictionary.models import Instrument
from opencrf.dictionary.services import dictionary_apply, instrument_relabel
from opencrf.projects import services as project_services
from opencrf.projects.models import Project

pytestmark = pytest.mark.django_db

ROWS = [
    FieldRow(field_name="record_id", form_name="intake", field_label="Record ID"),
    FieldRow(field_name="age", form_name="intake", field_label="Age", field_type="text"),
    FieldRow(field_name="visit_date", form_name="visit", field_label="Date", field_type="text"),
]


@pytest.fixture
def study(paula_context, longitudinal_project):
    dictionary_apply(
        context=paula_context, project=longitudinal_project, rows=ROWS, source="upload"
    )
    return fresh(longitudinal_project)


def fresh(project: Project) -> Project:
    """The project row as the next request reads it."""
    return Project.objects.get(pk=project.pk)


def test_a_design_read_outside_a_transaction_is_kept_and_costs_no_query_next_time(
    study, django_assert_num_queries
):
    first = design_of(study)

    with django_assert_num_queries(0):
        again = design_of(fresh_without_query(study))

    assert again is first
    assert [row.field_name for row in first.rows] == ["record_id", "age", "visit_date"]
    assert [row.field_name for row in first.form_rows("visit")] == ["visit_date"]
    assert first.record_id_field == "record_id"


def fresh_without_query(project: Project) -> Project:
    copy = Project(pk=project.pk, created_at=project.created_at)
    copy.design_version = project.design_version
    return copy


def test_a_design_read_inside_a_transaction_serves_only_its_caller(study):
    with transaction.atomic():
        inside = design_of(study)

    outside = design_of(study)

    assert outside is not inside
    assert design_of(study) is outside


def test_a_rolled_back_design_change_leaves_no_copy_behind(study, paula_context):
    before = design_of(study)
    version = study.design_version

    with pytest.raises(RuntimeError), transaction.atomic():
        project_services.arm_create(context=paula_context, project=study, number=2, name="B")
        design_of(study)  # read at the uncommitted version
        raise RuntimeError("the change fails after reading the design")

    after = fresh(study)
    assert after.design_version == version
    assert design_of(after) is before
    assert [event.arm.number for event in design_of(after).events] == [1]


def _arm(context, project):
    project_services.arm_create(context=context, project=project, number=2, name="Arm B")


def _event(context, project):
    arm = project.arms.get(number=1)
    project_services.event_create(context=context, arm=arm, name="Week 4")


def _rename_event(context, project):
    event = project.events.get()
    project_services.event_update(context=context, event=event, values={"name": "Baseline"})


def _designate(context, project):
    event = project.events.get()
    project_services.event_instruments_set(
        context=context,
        project=project,
        designations=[(event.pk, "intake")],
        known_forms=["intake", "visit"],
    )


def _repeat(context, project):
    event = project.events.get()
    project_services.repeat_settings_set(
        context=context,
        project=project,
        settings={(event.pk, "visit"): "Visit [visit_date]"},
        known_forms=["intake", "visit"],
    )


def _group(context, project):
    project_services.group_create(context=context, project=project, name="Site A")


def _dictionary(context, project):
    rows = [*ROWS, FieldRow(field_name="weight", form_name="visit", field_label="Weight")]
    dictionary_apply(context=context, project=project, rows=rows, source="upload")


def _relabel(context, project):
    instrument_relabel(
        context=context,
        instrument=Instrument.objects.get(project=project, name="visit"),
        label="Follow-up visit",
    )


def _settings(context, project):
    project_services.project_update_settings(
        context=context, project=project, values={"title": "Renamed study"}
    )


CHANGES: dict[str, Callable[..., None]] = {
    "arm_create": _arm,
    "event_create": _event,
    "event_update": _rename_event,
    "event_instruments_set": _designate,
    "repeat_settings_set": _repeat,
    "group_create": _group,
    "dictionary_apply": _dictionary,
    "instrument_relabel": _relabel,
    "project_update_settings": _settings,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_every_design_change_makes_the_next_request_read_a_new_design(study, paula_context, change):
    before = design_of(study)
    version = study.design_version

    change(paula_context, fresh(study))

    after = fresh(study)
    assert after.design_version == version + 1
    assert design_of(after) is not before
