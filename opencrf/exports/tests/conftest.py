"""The demo study, with members named by their part: Paula (the owner, everything), Sam at
site A (toto_univ, full export), Dee (de-identified export on every form)."""

from __future__ import annotations

import io

import pytest

from opencrf.audit.services import AuditContext
from opencrf.demo.loader import load_demo
from opencrf.exports.deidentify import Deidentify
from opencrf.exports.services import export_write
from opencrf.exports.table import ExportRequest
from opencrf.projects.models import ProjectMember

SITE_A = "toto_univ"


@pytest.fixture
def demo(pi_paula):
    project, _created = load_demo(owner_username="pi_paula")
    return project


def _member(django_user_model, project, username, *, right, group=None):
    user = django_user_model.objects.create_user(username=username, password="x")
    forms = list(project.instruments.values_list("name", flat=True))
    ProjectMember.objects.create(
        project=project,
        user=user,
        group=group,
        form_rights=dict.fromkeys(forms, "edit"),
        export_rights=dict.fromkeys(forms, right),
    )
    return user


@pytest.fixture
def site_a_sam(django_user_model, demo):
    group = demo.groups.get(unique_name=SITE_A)
    return _member(django_user_model, demo, "site_a_sam", right="full", group=group)


@pytest.fixture
def deidentified_dee(django_user_model, demo):
    return _member(django_user_model, demo, "deidentified_dee", right="deidentified")


def export_bytes(user, project, format, **options) -> bytes:
    out = io.BytesIO()
    request = ExportRequest(deidentify=Deidentify(**options))
    export_write(
        context=AuditContext(actor=user, source="web"),
        project=project,
        format=format,
        request=request,
        out=out,
    )
    return out.getvalue()
