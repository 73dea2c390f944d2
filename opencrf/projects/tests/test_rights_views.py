"""The User Rights page: who may open it, and what its forms change."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def bea_member(classic_project, site_b_bea):
    return ProjectMember.objects.create(project=classic_project, user=site_b_bea)


def test_the_rights_page_lists_members_with_role_group_expiry_and_rights(
    client, pi_paula, classic_project, bea_member
):
    client.force_login(pi_paula)

    html = client.get(reverse("projects:rights", args=[classic_project.pk])).content.decode()

    assert 'data-testid="member-pi_paula"' in html
    assert 'data-testid="member-site_b_bea"' in html
    assert "project design and setup, user rights" in html


def test_the_rights_page_is_refused_without_the_user_rights_right(
    client, site_b_bea, classic_project, bea_member
):
    client.force_login(site_b_bea)

    response = client.get(reverse("projects:rights", args=[classic_project.pk]))

    assert response.status_code == 403
    assert "You do not have user rights in this project." in response.content.decode()


def test_the_navigation_links_rights_and_groups_only_with_the_rights(
    client, pi_paula, site_b_bea, classic_project, bea_member
):
    url = reverse("projects:home", args=[classic_project.pk])
    client.force_login(pi_paula)
    paula_html = client.get(url).content.decode()
    client.force_login(site_b_bea)
    bea_html = client.get(url).content.decode()

    assert 'data-testid="nav-rights"' in paula_html
    assert 'data-testid="nav-groups"' in paula_html
    assert 'data-testid="nav-rights"' not in bea_html
    assert 'data-testid="nav-groups"' not in bea_html
    assert reverse("projects:logging", args=[classic_project.pk]) not in bea_html
    assert reverse("projects:settings", args=[classic_project.pk]) not in bea_html
    assert reverse("projects:settings", args=[classic_project.pk]) in paula_html


def test_adding_a_member_by_exact_username_opens_their_rights(
    client, pi_paula, site_b_bea, classic_project
):
    client.force_login(pi_paula)

    response = client.post(
        reverse("projects:rights_add", args=[classic_project.pk]), {"username": "site_b_bea"}
    )

    member = ProjectMember.objects.get(project=classic_project, user=site_b_bea)
    assert response["Location"] == reverse(
        "projects:rights_member", args=[classic_project.pk, member.pk]
    )


def test_adding_an_unknown_or_partial_username_says_the_same_and_adds_nobody(
    client, pi_paula, site_b_bea, classic_project
):
    client.force_login(pi_paula)
    before = ProjectMember.objects.count()

    for username in ("site_b", "nobody"):
        response = client.post(
            reverse("projects:rights_add", args=[classic_project.pk]),
            {"username": username},
            follow=True,
        )
        assert "No account with that username can be added." in response.content.decode()

    assert ProjectMember.objects.count() == before


def test_saving_a_member_s_rights_stores_flags_and_instrument_rights(
    client, pi_paula, classic_project, bea_member
):
    classic_project.instruments.create(name="consent", label="Consent", position=1)
    client.force_login(pi_paula)
    url = reverse("projects:rights_member", args=[classic_project.pk, bea_member.pk])

    response = client.post(
        url,
        {
            "logging": "on",
            "record_create": "on",
            "form__consent": "read",
            "export__consent": "deidentified",
            "expires_on": "2030-01-31",
        },
    )

    assert response.status_code == 302
    bea_member.refresh_from_db()
    assert (bea_member.logging, bea_member.record_create, bea_member.design) == (True, True, False)
    assert bea_member.form_rights == {"consent": "read"}
    assert bea_member.export_rights == {"consent": "deidentified"}
    assert str(bea_member.expires_on) == "2030-01-31"
    entry = AuditEvent.objects.get(project_id=classic_project.pk, action="member.update")
    assert entry.changes["form:consent"] == ["none", "read"]
    assert entry.changes["expires_on"] == ["", "2030-01-31"]


def test_removing_a_member_from_the_rights_page(client, pi_paula, classic_project, bea_member):
    client.force_login(pi_paula)
    url = reverse("projects:rights_member", args=[classic_project.pk, bea_member.pk])

    client.post(url, {"remove": "1"})

    assert not ProjectMember.objects.filter(pk=bea_member.pk).exists()


def test_a_member_of_another_project_is_missing_on_this_rights_page(
    client, pi_paula, paula_context, classic_project, site_b_bea
):
    from opencrf.projects.services import project_create

    other = project_create(context=paula_context, title="Other")
    stranger = ProjectMember.objects.create(project=other, user=site_b_bea)
    client.force_login(pi_paula)

    response = client.get(reverse("projects:rights_member", args=[classic_project.pk, stranger.pk]))

    assert response.status_code == 404


def test_creating_editing_and_deleting_a_role_from_the_page(client, pi_paula, classic_project):
    client.force_login(pi_paula)

    client.post(
        reverse("projects:role_new", args=[classic_project.pk]),
        {"name": "Monitor", "logging": "on"},
    )
    role = Role.objects.get(project=classic_project)
    client.post(
        reverse("projects:role_edit", args=[classic_project.pk, role.pk]),
        {"name": "Site monitor", "logging": "on", "record_delete": "on"},
    )
    role.refresh_from_db()
    assert (role.name, role.logging, role.record_delete) == ("Site monitor", True, True)

    client.post(reverse("projects:role_edit", args=[classic_project.pk, role.pk]), {"delete": "1"})

    assert not Role.objects.filter(pk=role.pk).exists()
    actions = AuditEvent.objects.filter(project_id=classic_project.pk, action__startswith="role.")
    assert list(actions.order_by("sequence").values_list("action", flat=True)) == [
        "role.create",
        "role.update",
        "role.delete",
    ]


def test_changing_rights_takes_post(client, pi_paula, classic_project):
    client.force_login(pi_paula)

    response = client.get(reverse("projects:rights_add", args=[classic_project.pk]))

    assert response.status_code == 405
