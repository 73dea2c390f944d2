"""The cast and helpers of the source data verification tests (imported by them)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember
from opencrf.quality.verification_models import Verification
from opencrf.records.models import FormData

ENROLMENT = ("screening_arm_1", "enrolment", 1)


@pytest.fixture
def verifier(monitor_mo, demo):
    """Monitor Mo, with the source data verification right and every form readable."""
    ProjectMember.objects.filter(project=demo, user=monitor_mo).update(source_verify=True)
    return monitor_mo


@pytest.fixture
def site_b_bea(django_user_model, demo):
    """A monitor of Hokurei Medical University Hospital only, with the verification right."""
    user = django_user_model.objects.create_user(
        username="site_b_bea", email="bea@example.org", password="correct horse battery"
    )
    ProjectMember.objects.create(
        project=demo,
        user=user,
        group=demo.groups.get(unique_name="hokurei_med"),
        source_verify=True,
        form_rights={i.name: "read" for i in demo.instruments.all()},
    )
    return user


def form_url(demo, record_id="1-1", place=ENROLMENT):
    return reverse("records:form", args=[demo.pk, record_id, *place])


def verify_url(demo, record_id="1-1", place=ENROLMENT):
    return reverse("quality:verification_verify", args=[demo.pk, record_id, *place])


def unverify_url(demo, record_id="1-1", place=ENROLMENT):
    return reverse("quality:verification_unverify", args=[demo.pk, record_id, *place])


def stored(demo, record_id="1-1", place=ENROLMENT):
    event, form_name, instance = place
    return FormData.objects.get(
        record__project=demo,
        record__record_id=record_id,
        event__unique_name=event,
        form_name=form_name,
        instance=instance,
    )


def verify(client, demo, record_id="1-1", field="", place=ENROLMENT, version=None):
    """Press Verify on the data entry page: the form posts its base version and the field."""
    if version is None:
        version = stored(demo, record_id, place).version
    return client.post(
        verify_url(demo, record_id, place), {"sdv_field": field, "base_version": str(version)}
    )


def web_save(client, demo, changes, record_id="1-1", place=ENROLMENT, reason="Source corrected"):
    """Save the data entry form as its page shows it, with `changes`."""
    page = client.get(form_url(demo, record_id, place))
    values = {**json.loads(page.context["base_values"]), **changes}
    for calculated in ("age", "eligible", "bmi", "hypo_risk"):
        values.pop(calculated, None)
    return client.post(
        form_url(demo, record_id, place),
        {
            **values,
            "base_version": page.context["base_version"],
            "base_values": page.context["base_values"],
            "reason": reason,
            "action": "stay",
        },
    )


def marks(demo):
    """(record, form, field, still standing) of every verification mark of the project."""
    rows = Verification.objects.filter(project=demo).values_list(
        "record__record_id", "form_name", "field_name", "invalidated_at"
    )
    return sorted((record, form, field, at is None) for record, form, field, at in rows)


def sdv_audit(demo):
    return list(
        AuditEvent.objects.filter(project_id=demo.pk, action__startswith="verification.")
        .order_by("sequence")
        .values_list(
            "action", "actor_name", "record", "event", "instrument", "instance", "changes", "reason"
        )
    )
