"""External users request projects; an administrator creates them or says why not."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.accounts.models import SecurityEvent
from opencrf.core.errors import InvalidInput
from opencrf.projects import requests
from opencrf.projects.models import Project, ProjectMember
from opencrf.projects.request_models import ProjectRequest, RequestStatus

pytestmark = pytest.mark.django_db

ASK = {
    "title": "SALT follow-up",
    "purpose": "A two-year follow-up of the SALT trial.",
    "is_longitudinal": "1",
    "notes": "Sites A and B.",
}


@pytest.fixture
def external_eve(django_user_model):
    return django_user_model.objects.create_user(
        username="external_eve", email="eve@other.example.jp", password="correct horse battery"
    )


def _ask(client, user, **changes):
    client.force_login(user)
    return client.post(reverse("project_requests:new"), {**ASK, **changes})


def test_an_external_user_is_led_from_new_project_to_the_request_form(client, external_eve):
    client.force_login(external_eve)
    response = client.get(reverse("projects:create"))
    assert response["Location"] == reverse("project_requests:new")
    client.post(reverse("projects:create"), {"title": "Sneaky", "purpose": "2"})
    assert not Project.objects.exists()


def test_internal_users_and_administrators_create_projects_directly(client, pi_paula, admin_ada):
    for user in (pi_paula, admin_ada):
        client.force_login(user)
        assert client.get(reverse("projects:create")).status_code == 200
        assert client.get(reverse("project_requests:new"))["Location"] == reverse("projects:create")


def test_a_request_is_recorded_and_the_administrators_are_told(
    client,
    external_eve,
    admin_ada,
    smtp,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(client, external_eve)
    assert response["Location"] == reverse("project_requests:new")
    request = ProjectRequest.objects.get()
    assert (request.requester, request.title, request.is_longitudinal, request.status) == (
        external_eve,
        "SALT follow-up",
        True,
        RequestStatus.PENDING,
    )
    [notice] = smtp.messages
    assert smtp.envelopes == [["ada@example.org"]]
    assert notice["Subject"] == "New project request: SALT follow-up"
    assert SecurityEvent.objects.get(kind="project.requested").user == external_eve


def test_approval_creates_the_project_with_the_requester_holding_every_right(
    client,
    external_eve,
    admin_ada,
    smtp,
    django_capture_on_commit_callbacks,
):
    _ask(client, external_eve)
    request = ProjectRequest.objects.get()
    client.force_login(admin_ada)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("project_requests:detail", args=[request.pk]), {"action": "approve"}
        )
    project = Project.objects.get()
    assert response["Location"] == reverse("projects:home", args=[project.pk])
    assert (project.title, project.created_by, project.is_longitudinal) == (
        "SALT follow-up",
        external_eve,
        True,
    )
    member = ProjectMember.objects.get(project=project)
    assert (member.user, member.can_design) == (external_eve, True)
    request.refresh_from_db()
    assert (request.status, request.project, request.decided_by) == (
        RequestStatus.APPROVED,
        project,
        admin_ada,
    )
    [mail] = smtp.to("eve@other.example.jp")
    assert mail["Subject"] == "Your project request was approved: SALT follow-up"
    assert f"https://edc.example.ac.jp/projects/{project.pk}/" in smtp.body(mail)
    event = SecurityEvent.objects.get(kind="project.request_approved")
    assert (event.user, event.actor, event.details["project"]) == (
        external_eve,
        admin_ada,
        project.pk,
    )


def test_rejection_sends_the_reason_and_creates_nothing(
    external_eve,
    admin_ada,
    smtp,
    django_capture_on_commit_callbacks,
):
    request = requests.project_request_create(requester=external_eve, title="X", purpose="Y")
    with pytest.raises(InvalidInput):
        requests.project_request_reject(request=request, actor=admin_ada, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        requests.project_request_reject(
            request=request, actor=admin_ada, reason="Ask your PI to request it."
        )
    assert not Project.objects.exists()
    [mail] = smtp.to("eve@other.example.jp")
    assert mail["Subject"] == "Your project request was not approved: X"
    assert "Ask your PI to request it." in smtp.body(mail)
    with pytest.raises(InvalidInput):
        requests.project_request_approve(request=request, actor=admin_ada)
    assert not Project.objects.exists()


def test_the_queue_is_a_404_for_anyone_but_an_administrator(client, external_eve, pi_paula):
    request = requests.project_request_create(requester=external_eve, title="X", purpose="Y")
    for user in (external_eve, pi_paula):
        client.force_login(user)
        assert client.get(reverse("project_requests:queue")).status_code == 404
        detail = reverse("project_requests:detail", args=[request.pk])
        assert client.get(detail).status_code == 404
        assert client.post(detail, {"action": "approve"}).status_code == 404
    assert not Project.objects.exists()
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_hostile_titles_are_inert_in_the_queue(client, external_eve, admin_ada):
    title = '<script>alert(1)</script>"><img src=x oNeRrOr=alert(2)>'
    request = requests.project_request_create(requester=external_eve, title=title, purpose=title)
    client.force_login(admin_ada)
    for url in (
        reverse("project_requests:queue"),
        reverse("project_requests:detail", args=[request.pk]),
    ):
        page = client.get(url).content.decode()
        assert "<script>alert(1)" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img" in page


def test_a_purpose_too_long_is_refused(client, external_eve):
    response = _ask(client, external_eve, purpose="x" * 10_000)
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["purpose"]
    assert not ProjectRequest.objects.exists()
