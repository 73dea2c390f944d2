"""The salt_rct study with a visit plan: consent_date at screening starts each schedule.

Offsets (days) and windows: screening 0 (±0), baseline 14 (−3/+3), week 4 42 (−7/+7),
week 12 98 (−7/+14), week 24 182 (−14/+14). Sam coordinates Osaka, Bea Kyoto; Mo monitors
every site without the right to create records.
"""

from __future__ import annotations

from datetime import date

import pytest

from opencrf.projects.models import Event, ProjectMember
from opencrf.projects.services import event_update
from opencrf.records.services import form_save, record_create

PLAN = {
    "screening_arm_1": (0, 0, 0),
    "baseline_arm_1": (14, 3, 3),
    "week_4_arm_1": (42, 7, 7),
    "week_12_arm_1": (98, 7, 14),
    "week_24_arm_1": (182, 14, 14),
}


def coordinator_rights(project):
    forms = dict.fromkeys(project.instruments.values_list("name", flat=True), "edit")
    return {"record_create": True, "logging": True, "form_rights": forms}


@pytest.fixture
def study(salt_rct, paula_context):
    for event in salt_rct.events.all():
        day_offset, before, after = PLAN[event.unique_name]
        values = {"day_offset": day_offset, "offset_min": before, "offset_max": after}
        event_update(context=paula_context, event=event, values=values)
    salt_rct.refresh_from_db()
    return salt_rct


@pytest.fixture
def events(study):
    return {event.unique_name: event for event in Event.objects.filter(project=study)}


@pytest.fixture
def groups(study):
    return {group.unique_name: group for group in study.groups.all()}


@pytest.fixture
def sam(study, groups, django_user_model):
    user = django_user_model.objects.create_user(username="site_a_sam", password="x")
    ProjectMember.objects.create(
        project=study, user=user, group=groups["osaka_central"], **coordinator_rights(study)
    )
    return user


@pytest.fixture
def bea(study, groups, site_b_bea):
    ProjectMember.objects.create(
        project=study, user=site_b_bea, group=groups["kyoto_north"], **coordinator_rights(study)
    )
    return site_b_bea


@pytest.fixture
def mo(study, django_user_model):
    """Monitor Mo: sees every site's records, may not create records or design."""
    user = django_user_model.objects.create_user(username="monitor_mo", password="x")
    forms = dict.fromkeys(study.instruments.values_list("name", flat=True), "read")
    ProjectMember.objects.create(project=study, user=user, form_rights=forms)
    return user


@pytest.fixture
def make_record(study, paula_context, groups, events, django_capture_on_commit_callbacks):
    """A record at a site, with its consent date saved (and the save's hooks run) when given."""

    def make(record_id: str, site: str, consent: str | None = None):
        record = record_create(
            context=paula_context, project=study, record_id=record_id, group=groups[site]
        )
        if consent is not None:
            with django_capture_on_commit_callbacks(execute=True):
                save_consent(paula_context, record, events, consent)
        return record

    return make


def save_consent(context, record, events, consent: str, version: int = 0):
    return form_save(
        context=context,
        record=record,
        event=events["screening_arm_1"],
        form_name="screening",
        values={"consent_date": consent},
        base_version=version,
    )


@pytest.fixture
def anchored(study, paula_context, events):
    """consent_date at screening starts arm 1's schedules."""
    from opencrf.scheduling.services import anchor_set

    anchor_set(
        context=paula_context,
        project=study,
        arm=study.arms.get(number=1),
        field_name="consent_date",
        event=events["screening_arm_1"],
    )
    return study


def d(text: str) -> date:
    return date.fromisoformat(text)
