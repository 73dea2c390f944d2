"""Deleting a project: hidden everywhere, rows and audit chain kept, requests decided."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.accounts.models import SecurityEvent
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.audit.verify import verify_chain
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.projects.deletion import (
    pending_deletions,
    project_delete,
    project_deletion_reject,
    project_deletion_request,
)
from opencrf.projects.models import Project, ProjectMember, ProjectStatus
from opencrf.projects.selectors import access_project, member_rights, projects_visible_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada_context(admin_ada):
    return AuditContext(actor=admin_ada)


@pytest.fixture
def production(classic_project):
    Project.objects.filter(pk=classic_project.pk).update(status=ProjectStatus.PRODUCTION)
    classic_project.refresh_from_db()
    return classic_project


def test_an_administrator_deletes_with_the_title_and_a_reason(
    ada_context, admin_ada, pi_paula, production
):
    project_delete(
        context=ada_context, project=production, confirm_title="Classic study", reason="Test"
    )
    production.refresh_from_db()
    assert production.deleted_at is not None
    assert list(projects_visible_to(pi_paula)) == []
    assert list(projects_visible_to(admin_ada)) == []
    with pytest.raises(NotFound):
        access_project(pi_paula, production.pk)
    with pytest.raises(NotFound):
        member_rights(admin_ada, production)
    last = AuditEvent.objects.filter(project_id=production.pk).order_by("sequence").last()
    assert (last.action, last.reason, last.actor_name) == ("project.delete", "Test", "admin_ada")
    assert verify_chain(production.pk).ok
    logged = SecurityEvent.objects.get(kind="project.delete")
    assert logged.details == {"project": production.pk, "title": "Classic study", "reason": "Test"}


@pytest.mark.parametrize(
    ("title", "reason", "message"),
    [
        ("Classic", "Test", "Type the project's title exactly to confirm the deletion."),
        ("Classic study", " ", "Give a reason for deleting the project."),
    ],
)
def test_a_wrong_title_or_no_reason_changes_nothing(
    ada_context, production, title, reason, message
):
    before = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as refused:
        project_delete(context=ada_context, project=production, confirm_title=title, reason=reason)
    assert refused.value.message == message
    production.refresh_from_db()
    assert production.deleted_at is None
    assert AuditEvent.objects.count() == before


def test_a_designer_deletes_only_in_development(paula_context, classic_project, production):
    with pytest.raises(PermissionDenied):
        project_delete(
            context=paula_context, project=production, confirm_title="Classic study", reason="x"
        )


def test_a_designer_may_delete_a_project_in_development(paula_context, longitudinal_project):
    project_delete(
        context=paula_context,
        project=longitudinal_project,
        confirm_title="Longitudinal study",
        reason="Mistake",
    )
    longitudinal_project.refresh_from_db()
    assert longitudinal_project.deleted_at is not None


def test_a_request_waits_for_an_administrator_who_may_refuse_it(
    paula_context, ada_context, production
):
    request = project_deletion_request(context=paula_context, project=production, reason="Done")
    assert pending_deletions() == [request]
    with pytest.raises(InvalidInput):
        project_deletion_request(context=paula_context, project=production, reason="Again")
    project_deletion_reject(context=ada_context, deletion=request, comment="Still in use")
    assert pending_deletions() == []
    production.refresh_from_db()
    assert production.deleted_at is None
    actions = list(
        AuditEvent.objects.filter(project_id=production.pk)
        .order_by("sequence")
        .values_list("action", flat=True)
    )[-2:]
    assert actions == ["project.delete_request", "project.delete_reject"]


def test_an_administrator_deletes_a_requested_project(paula_context, ada_context, production):
    request = project_deletion_request(context=paula_context, project=production, reason="Done")
    deleted = project_delete(
        context=ada_context, project=production, confirm_title="Classic study", reason="As asked"
    )
    assert deleted.pk == request.pk
    assert (deleted.status, deleted.comment, deleted.reason) == ("approved", "As asked", "Done")


def test_a_member_without_design_cannot_request(site_b_bea, production):
    ProjectMember.objects.create(project=production, user=site_b_bea)
    with pytest.raises(PermissionDenied):
        project_deletion_request(
            context=AuditContext(actor=site_b_bea), project=production, reason="x"
        )


def test_the_delete_page_deletes_for_an_administrator(client, admin_ada, production):
    client.force_login(admin_ada)
    url = reverse("projects:delete", args=[production.pk])
    assert 'data-testid="delete-form"' in client.get(url).content.decode()
    refused = client.post(url, {"confirm_title": "nope", "reason": "x"})
    assert refused.status_code == 400
    done = client.post(url, {"confirm_title": "Classic study", "reason": "x"})
    assert done["Location"] == reverse("projects:list")
    assert client.get(reverse("projects:home", args=[production.pk])).status_code == 404


def test_the_delete_page_lets_a_designer_request_in_production(client, pi_paula, production):
    client.force_login(pi_paula)
    url = reverse("projects:delete", args=[production.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="delete-request-form"' in page and 'data-testid="delete-form"' not in page
    client.post(url, {"reason": "<script>x</script>"})
    page = client.get(url).content.decode()
    assert 'data-testid="delete-pending"' in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x</script>" not in page


def test_the_queue_is_for_administrators_only(client, pi_paula, admin_ada, production):
    client.force_login(pi_paula)
    assert client.get(reverse("projects:deletions")).status_code == 403
    client.force_login(admin_ada)
    assert (
        'data-testid="deletion-queue-empty"'
        in client.get(reverse("projects:deletions")).content.decode()
    )


def test_a_non_member_gets_not_found(client, site_b_bea, production):
    client.force_login(site_b_bea)
    assert client.get(reverse("projects:delete", args=[production.pk])).status_code == 404


def test_an_administrator_restores_a_deleted_project(client, admin_ada, pi_paula, production):
    project_delete(
        context=AuditContext(actor=admin_ada),
        project=production,
        confirm_title="Classic study",
        reason="Oops",
    )
    client.force_login(admin_ada)
    queue = client.get(reverse("projects:deletions")).content.decode()
    assert 'data-testid="deleted-projects"' in queue
    client.post(reverse("projects:restore", args=[production.pk]), {"reason": "Deleted in error"})
    assert list(projects_visible_to(pi_paula)) == [production]
    last = AuditEvent.objects.filter(project_id=production.pk).order_by("sequence").last()
    assert (last.action, last.reason) == ("project.restore", "Deleted in error")
    assert verify_chain(production.pk).ok
