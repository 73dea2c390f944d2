"""The data resolution workflow right (queries): offered, saved, checked and audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.accounts.models import SecurityEvent
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.projects import rights_services
from opencrf.projects.models import ProjectMember, Role
from opencrf.projects.rights import Rights

pytestmark = pytest.mark.django_db


@pytest.fixture
def bea_member(classic_project, site_b_bea):
    return ProjectMember.objects.create(project=classic_project, user=site_b_bea)


def audit_count(project):
    return AuditEvent.objects.filter(project_id=project.pk).count()


def test_the_creator_may_open_close_and_respond_to_queries(classic_project, pi_paula):
    member = ProjectMember.objects.get(project=classic_project, user=pi_paula)

    assert member.data_resolution == "open_close_respond"


def test_saving_the_right_is_audited_as_old_and_new(classic_project, paula_context, bea_member):
    changes = rights_services.member_update(
        context=paula_context, member=bea_member, rights={"data_resolution": "open_respond"}
    )

    assert changes == {"data_resolution": ["none", "open_respond"]}
    entry = AuditEvent.objects.get(project_id=classic_project.pk, action="member.update")
    assert entry.changes == {"data_resolution": ["none", "open_respond"]}
    security = SecurityEvent.objects.get(kind="rights.changed", user=bea_member.user)
    assert security.details["changes"] == {"data_resolution": ["none", "open_respond"]}
    bea_member.refresh_from_db()
    assert Rights.of(bea_member, None).can_open_queries() is True


@pytest.mark.parametrize(
    "value", ["all", "", None, 3, "OPEN", "open_close_respond'; DROP TABLE x;--"]
)
def test_an_unknown_value_is_refused_by_name_and_nothing_changes(
    classic_project, paula_context, bea_member, value
):
    before = audit_count(classic_project)

    with pytest.raises(InvalidInput) as refused:
        rights_services.member_update(
            context=paula_context,
            member=bea_member,
            rights={"data_resolution": value, "logging": True},
        )

    assert refused.value.message == (
        f"The data resolution workflow right “{str(value)[:40]}” is unknown; it is one of: "
        "none, view, respond, open, open_respond, open_close_respond."
    )
    bea_member.refresh_from_db()
    assert (bea_member.data_resolution, bea_member.logging) == ("none", False)
    assert audit_count(classic_project) == before


def test_a_new_role_takes_the_right_and_the_audit_shows_it(classic_project, paula_context):
    role = rights_services.role_create(
        context=paula_context,
        project=classic_project,
        name="Monitor",
        rights={"data_resolution": "open_close_respond"},
    )

    assert role.data_resolution == "open_close_respond"
    entry = AuditEvent.objects.get(project_id=classic_project.pk, action="role.create")
    assert entry.changes["data_resolution"] == [None, "open_close_respond"]


@pytest.mark.parametrize(
    ("held", "wanted", "refused"),
    [
        ("respond", "open", True),  # opening is not part of responding
        ("open", "respond", True),
        ("view", "open_respond", True),
        ("open_respond", "open_close_respond", True),
        ("open_close_respond", "respond", False),
        ("open_respond", "view", False),
        ("view", "none", False),
    ],
)
def test_a_member_cannot_take_a_query_ability_they_lack(
    classic_project, bea_member, site_b_bea, held, wanted, refused
):
    bea_member.user_rights = True
    bea_member.data_resolution = held
    bea_member.save()
    context = AuditContext(actor=site_b_bea)

    if refused:
        with pytest.raises(PermissionDenied):
            rights_services.member_update(
                context=context, member=bea_member, rights={"data_resolution": wanted}
            )
        bea_member.refresh_from_db()
        assert bea_member.data_resolution == held
    else:
        changes = rights_services.member_update(
            context=context, member=bea_member, rights={"data_resolution": wanted}
        )
        assert changes == {"data_resolution": [held, wanted]}


def test_the_member_page_offers_redcap_s_choices(client, pi_paula, classic_project, bea_member):
    client.force_login(pi_paula)
    url = reverse("projects:rights_member", args=[classic_project.pk, bea_member.pk])

    html = client.get(url).content.decode()

    assert '<select name="data_resolution"' in html
    for value, label in [
        ("none", "No access"),
        ("view", "View only"),
        ("respond", "Respond only to opened queries"),
        ("open", "Open queries only"),
        ("open_respond", "Open and respond to queries"),
        ("open_close_respond", "Open, close, and respond to queries"),
    ]:
        assert f'<option value="{value}"' in html
        assert f">{label}</option>" in html


def test_saving_the_member_page_stores_the_right_and_lists_it(
    client, pi_paula, classic_project, bea_member
):
    client.force_login(pi_paula)
    url = reverse("projects:rights_member", args=[classic_project.pk, bea_member.pk])

    response = client.post(url, {"logging": "on", "data_resolution": "respond"})

    assert response.status_code == 302
    bea_member.refresh_from_db()
    assert (bea_member.data_resolution, bea_member.logging) == ("respond", True)
    html = client.get(reverse("projects:rights", args=[classic_project.pk])).content.decode()
    assert "logging, Queries: Respond only to opened queries</td>" in html


def test_a_post_without_the_select_keeps_the_right(client, pi_paula, classic_project, bea_member):
    bea_member.data_resolution = "view"
    bea_member.save()
    client.force_login(pi_paula)
    url = reverse("projects:rights_member", args=[classic_project.pk, bea_member.pk])

    client.post(url, {"logging": "on"})

    bea_member.refresh_from_db()
    assert (bea_member.data_resolution, bea_member.logging) == ("view", True)


def test_a_forged_value_on_the_page_is_refused_and_nothing_changes(
    client, pi_paula, classic_project, bea_member
):
    client.force_login(pi_paula)
    url = reverse("projects:rights_member", args=[classic_project.pk, bea_member.pk])
    before = audit_count(classic_project)

    response = client.post(url, {"logging": "on", "data_resolution": "<script>x</script>"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice. &lt;script&gt;x&lt;/script&gt; is not one of the" in html
    bea_member.refresh_from_db()
    assert (bea_member.data_resolution, bea_member.logging) == ("none", False)
    assert audit_count(classic_project) == before


def test_the_role_page_saves_the_right_and_the_list_shows_it(client, pi_paula, classic_project):
    client.force_login(pi_paula)

    client.post(
        reverse("projects:role_new", args=[classic_project.pk]),
        {"name": "Monitor", "data_resolution": "open_close_respond"},
    )

    role = Role.objects.get(project=classic_project)
    assert role.data_resolution == "open_close_respond"
    html = client.get(reverse("projects:rights", args=[classic_project.pk])).content.decode()
    assert "Queries: Open, close, and respond to queries</td>" in html
