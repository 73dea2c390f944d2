"""Moving a project between development, production, analysis/cleanup and completed."""

from __future__ import annotations

import pytest

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.projects.lifecycle import (
    data_entry_refusal,
    moves_for,
    project_status_move,
    status_request_approve,
    status_request_reject,
)
from opencrf.projects.lifecycle_models import StatusRequest
from opencrf.projects.models import Project, ProjectStatus
from opencrf.records.imports import ImportRefused, records_import
from opencrf.records.models import FormData, Record

pytestmark = pytest.mark.django_db
S = ProjectStatus


@pytest.fixture
def study(paula_context, classic_project):
    rows = [
        FieldRow(field_name="record_id", form_name="visit"),
        FieldRow(
            field_name="age",
            form_name="visit",
            text_validation_type_or_show_slider_number="integer",
        ),
    ]
    dictionary_apply(context=paula_context, project=classic_project, rows=rows, source="upload")
    records_import(
        context=paula_context, project=classic_project, rows=[{"record_id": "1", "age": "40"}]
    )
    return classic_project


@pytest.fixture
def admin_context(admin_ada):
    return AuditContext(actor=admin_ada)


def _set(project, status):
    Project.objects.filter(pk=project.pk).update(status=status)
    project.refresh_from_db()


def _status_events(project):
    return list(
        AuditEvent.objects.filter(project_id=project.pk, action="project.status").values_list(
            "changes", "reason"
        )
    )


def test_moving_to_production_without_approval_keeps_records_and_records_the_date(
    settings, paula_context, study
):
    settings.OPENCRF_PRODUCTION_NEEDS_APPROVAL = False
    assert (
        project_status_move(context=paula_context, project=study, to=S.PRODUCTION, reason="Go live")
        is None
    )
    study.refresh_from_db()
    assert study.status == S.PRODUCTION
    assert study.production_at is not None
    assert Record.objects.filter(project=study).count() == 1
    assert _status_events(study) == [
        ({"status": ["development", "production"], "test_records": "kept"}, "Go live")
    ]


def test_moving_to_production_can_delete_the_test_records(settings, paula_context, study):
    settings.OPENCRF_PRODUCTION_NEEDS_APPROVAL = False
    project_status_move(
        context=paula_context, project=study, to=S.PRODUCTION, reason="Go", keep_records=False
    )
    assert not Record.objects.filter(project=study).exists()
    assert not FormData.objects.filter(project=study).exists()
    assert _status_events(study)[0][0]["test_records"] == "deleted (1)"
    assert AuditEvent.objects.filter(project_id=study.pk, action="record.purge").count() == 1


def test_a_move_needing_approval_waits_until_an_administrator_approves(
    settings, paula_context, admin_context, study
):
    settings.OPENCRF_PRODUCTION_NEEDS_APPROVAL = True
    request = project_status_move(
        context=paula_context, project=study, to=S.PRODUCTION, reason="Ready", keep_records=False
    )
    study.refresh_from_db()
    assert request is not None and study.status == S.DEVELOPMENT
    with pytest.raises(InvalidInput):
        project_status_move(context=paula_context, project=study, to=S.PRODUCTION, reason="again")
    with pytest.raises(PermissionDenied):
        status_request_approve(context=paula_context, request_id=request.pk)

    status_request_approve(context=admin_context, request_id=request.pk, comment="ok")

    study.refresh_from_db()
    assert study.status == S.PRODUCTION
    assert not Record.objects.filter(project=study).exists()
    assert StatusRequest.objects.get().status == "approved"
    assert _status_events(study)[0][1] == "Ready (approved: ok)"


def test_a_rejected_request_leaves_the_project_in_development(
    settings, paula_context, admin_context, study
):
    settings.OPENCRF_PRODUCTION_NEEDS_APPROVAL = True
    request = project_status_move(context=paula_context, project=study, to=S.PRODUCTION, reason="r")
    with pytest.raises(InvalidInput):
        status_request_reject(context=admin_context, request_id=request.pk, comment=" ")
    status_request_reject(context=admin_context, request_id=request.pk, comment="Not yet")
    study.refresh_from_db()
    assert study.status == S.DEVELOPMENT
    assert StatusRequest.objects.get().status == "rejected"
    assert AuditEvent.objects.filter(
        project_id=study.pk, action="project.status_request_reject", reason="Not yet"
    ).exists()


def test_an_administrator_moves_to_production_at_once(settings, admin_context, study):
    settings.OPENCRF_PRODUCTION_NEEDS_APPROVAL = True
    project_status_move(context=admin_context, project=study, to=S.PRODUCTION, reason="r")
    study.refresh_from_db()
    assert study.status == S.PRODUCTION


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (S.PRODUCTION, S.ANALYSIS),
        (S.ANALYSIS, S.PRODUCTION),
        (S.ANALYSIS, S.COMPLETED),
    ],
)
def test_a_designer_makes_the_ordinary_moves(paula_context, study, start, to):
    _set(study, start)
    project_status_move(context=paula_context, project=study, to=to, reason="why")
    study.refresh_from_db()
    assert study.status == to
    assert _status_events(study) == [({"status": [start, to]}, "why")]


@pytest.mark.parametrize(
    ("start", "to"), [(S.COMPLETED, S.ANALYSIS), (S.PRODUCTION, S.DEVELOPMENT)]
)
def test_only_an_administrator_makes_the_administrator_moves(
    paula_context, admin_context, study, start, to
):
    _set(study, start)
    with pytest.raises(PermissionDenied):
        project_status_move(context=paula_context, project=study, to=to, reason="why")
    study.refresh_from_db()
    assert study.status == start
    project_status_move(context=admin_context, project=study, to=to, reason="why")
    study.refresh_from_db()
    assert study.status == to


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (S.DEVELOPMENT, S.ANALYSIS),
        (S.DEVELOPMENT, S.COMPLETED),
        (S.PRODUCTION, S.COMPLETED),
        (S.COMPLETED, S.PRODUCTION),
        (S.COMPLETED, S.DEVELOPMENT),
        (S.ANALYSIS, S.DEVELOPMENT),
    ],
)
def test_moves_outside_the_lifecycle_are_refused_even_for_administrators(
    admin_context, study, start, to
):
    _set(study, start)
    with pytest.raises(InvalidInput):
        project_status_move(context=admin_context, project=study, to=to, reason="why")
    study.refresh_from_db()
    assert study.status == start
    assert _status_events(study) == []


def test_a_move_without_a_reason_is_refused(paula_context, study):
    _set(study, S.PRODUCTION)
    with pytest.raises(InvalidInput):
        project_status_move(context=paula_context, project=study, to=S.ANALYSIS, reason="  ")
    study.refresh_from_db()
    assert study.status == S.PRODUCTION


def test_a_member_without_the_design_right_cannot_move(study, site_b_bea):
    _set(study, S.PRODUCTION)
    with pytest.raises(PermissionDenied):
        project_status_move(
            context=AuditContext(actor=site_b_bea), project=study, to=S.ANALYSIS, reason="x"
        )


def test_the_moves_offered_depend_on_the_status_and_the_user(paula_context, admin_context, study):
    _set(study, S.PRODUCTION)
    assert [m.to for m in moves_for(paula_context, study)] == [S.ANALYSIS]
    assert [m.to for m in moves_for(admin_context, study)] == [S.ANALYSIS, S.DEVELOPMENT]


@pytest.mark.parametrize("status", [S.ANALYSIS, S.COMPLETED])
def test_data_entry_is_closed_in_analysis_and_completed(paula_context, study, status):
    _set(study, status)
    before = list(FormData.objects.values_list("values", flat=True))
    for record in ("1", "2"):
        with pytest.raises(ImportRefused) as refusal:
            records_import(
                context=paula_context, project=study, rows=[{"record_id": record, "age": "41"}]
            )
        assert refusal.value.problems[0].message == data_entry_refusal(study)
    assert list(FormData.objects.values_list("values", flat=True)) == before
    assert Record.objects.filter(project=study).count() == 1


def test_completed_projects_are_hidden_from_the_list_until_asked_for(client, pi_paula, study):
    _set(study, S.COMPLETED)
    client.force_login(pi_paula)
    assert list(client.get("/projects/").context["projects"]) == []
    assert list(client.get("/projects/?completed=1").context["projects"]) == [study]
    assert client.get(f"/projects/{study.pk}/").status_code == 200
