"""A two-site trial with a radio allocation field and two strata, and its cast.

Paula set the trial up (every right). Sam coordinates site A and Bea site B: both may
randomize, neither sees the dashboard. Dana, on the data monitoring committee, sees the
dashboard and every site. Mo, a monitor, may read the forms and nothing else.
"""

from __future__ import annotations

import pytest

from opencrf.audit.services import AuditContext
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.models import ProjectMember
from opencrf.projects.services import group_create, project_create
from opencrf.randomization.services import SetupInput, setup_save
from opencrf.records.services import form_save, record_create

FORM = "enrol"
ROWS = [
    FieldRow(field_name="record_id", form_name=FORM, field_label="Record ID"),
    FieldRow(
        field_name="sex",
        form_name=FORM,
        field_type="radio",
        field_label="Sex",
        select_choices_or_calculations="1, Male | 2, Female",
    ),
    FieldRow(
        field_name="age_grp",
        form_name=FORM,
        field_type="dropdown",
        field_label="Age group",
        select_choices_or_calculations="1, Under 65 | 2, 65 or over",
    ),
    FieldRow(
        field_name="arm",
        form_name=FORM,
        field_type="radio",
        field_label="Allocated arm",
        select_choices_or_calculations="1, Low salt | 2, Usual diet",
    ),
    FieldRow(field_name="note", form_name=FORM, field_label="Note"),
]


@pytest.fixture(autouse=True)
def _moves_without_approval(settings):
    settings.OPENCRF_PRODUCTION_NEEDS_APPROVAL = False


@pytest.fixture
def trial(paula_context):
    project = project_create(context=paula_context, title="Salt trial")
    dictionary_apply(context=paula_context, project=project, rows=ROWS, source="upload")
    group_create(context=paula_context, project=project, name="Site A", unique_name="site_a")
    group_create(context=paula_context, project=project, name="Site B", unique_name="site_b")
    return project


@pytest.fixture
def event(trial):
    return trial.events.get()


@pytest.fixture
def site_a(trial):
    return trial.groups.get(unique_name="site_a")


@pytest.fixture
def site_b(trial):
    return trial.groups.get(unique_name="site_b")


def member(project, user, **rights):
    forms = rights.pop("forms", "edit")
    return ProjectMember.objects.create(
        project=project, user=user, form_rights={FORM: forms}, **rights
    )


@pytest.fixture
def site_a_sam(django_user_model, trial, site_a):
    user = django_user_model.objects.create_user(username="site_a_sam", password="x" * 12)
    member(trial, user, group=site_a, record_create=True, randomization_perform=True)
    return user


@pytest.fixture
def kyoto_bea(site_b_bea, trial, site_b):
    member(trial, site_b_bea, group=site_b, record_create=True, randomization_perform=True)
    return site_b_bea


@pytest.fixture
def dmc_dana(django_user_model, trial):
    user = django_user_model.objects.create_user(username="dmc_dana", password="x" * 12)
    member(trial, user, forms="read", randomization_dashboard=True)
    return user


@pytest.fixture
def monitor_mo(django_user_model, trial):
    user = django_user_model.objects.create_user(username="monitor_mo", password="x" * 12)
    member(trial, user, forms="read", logging=True)
    return user


def stratified(trial, event, *, method="table", group=False, **extra):
    return SetupInput(
        allocation_field="arm",
        allocation_event_id=event.pk,
        strata=[("sex", event.pk)],
        group_stratum=group,
        method=method,
        ratios=extra.get("ratios", {}),
        weights=extra.get("weights", {}),
        preferred_probability=extra.get("p", 0.8),
    )


@pytest.fixture
def setup(trial, event, paula_context):
    """Stratified by sex and site, from a table."""
    return setup_save(
        context=paula_context, project=trial, data=stratified(trial, event, group=True)
    )


def enrol(context, project, record_id, group, values):
    event = project.events.get()
    record = record_create(context=context, project=project, record_id=record_id, group=group)
    form_save(
        context=context,
        record=record,
        event=event,
        form_name=FORM,
        values=values,
        base_version=0,
    )
    return record


@pytest.fixture
def context_of():
    def make(user, source="web"):
        return AuditContext(actor=user, source=source)

    return make
