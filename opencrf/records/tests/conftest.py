"""The salt_rct study with records, and a coordinator who sees only the Kyoto site."""

from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember
from opencrf.records.models import FormData


@pytest.fixture
def events(salt_rct):
    return {event.unique_name: event for event in salt_rct.events.all()}


@pytest.fixture
def groups(salt_rct):
    return {group.unique_name: group for group in salt_rct.groups.all()}


def coordinator_rights(project):
    """A site coordinator's rights: enter data on every form, create, rename, delete, log."""
    forms = dict.fromkeys(project.instruments.values_list("name", flat=True), "edit")
    return {
        "record_create": True,
        "record_rename": True,
        "record_delete": True,
        "logging": True,
        "form_rights": forms,
    }


@pytest.fixture
def kyoto_bea(salt_rct, site_b_bea, groups):
    """Bea coordinates the Kyoto North site: a member of the study, grouped."""
    ProjectMember.objects.create(
        project=salt_rct,
        user=site_b_bea,
        group=groups["kyoto_north"],
        **coordinator_rights(salt_rct),
    )
    return site_b_bea


@pytest.fixture
def osaka_record(salt_rct, paula_context, groups):
    from opencrf.records.services import record_create

    return record_create(
        context=paula_context, project=salt_rct, record_id="1-1", group=groups["osaka_central"]
    )


def snapshot(project):
    """Everything a refused write must leave alone: stored forms and the audit trail."""
    forms = list(
        FormData.objects.filter(project=project).values_list(
            "record__record_id", "event_id", "form_name", "instance", "values", "status", "version"
        )
    )
    return forms, AuditEvent.objects.filter(project_id=project.pk).count()
