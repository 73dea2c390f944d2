"""Data access groups: create, rename, delete, assign members, and the group switcher."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.projects import services
from opencrf.projects.models import DataAccessGroup, ProjectMember

pytestmark = pytest.mark.django_db


@pytest.fixture
def sites(classic_project, paula_context):
    return [
        services.group_create(context=paula_context, project=classic_project, name=name)
        for name in ("Osaka", "Kyoto")
    ]


@pytest.fixture
def bea_member(classic_project, site_b_bea):
    return ProjectMember.objects.create(project=classic_project, user=site_b_bea)


def audit_actions(project):
    entries = AuditEvent.objects.filter(project_id=project.pk).order_by("sequence")
    return list(entries.values_list("action", flat=True))


def test_renaming_a_group_keeps_its_unique_name_and_raises_the_design_version(
    classic_project, paula_context, sites
):
    version = classic_project.design_version

    services.group_rename(context=paula_context, group=sites[0], name="Osaka Central")

    sites[0].refresh_from_db()
    assert (sites[0].name, sites[0].unique_name) == ("Osaka Central", "osaka")
    entry = AuditEvent.objects.get(project_id=classic_project.pk, action="group.update")
    assert entry.changes == {"name": ["Osaka", "Osaka Central"]}
    classic_project.refresh_from_db()
    assert classic_project.design_version == version + 1


def test_a_group_holding_records_cannot_be_deleted(classic_project, paula_context, sites):
    # Through the reverse relation: the projects app sits below records.
    arm = classic_project.arms.get()
    record = classic_project.records.create(record_id="1", sort_key="1", group=sites[0])
    record.arms.add(arm)
    before = audit_actions(classic_project)

    with pytest.raises(InvalidInput) as refused:
        services.group_delete(context=paula_context, group=sites[0])

    assert refused.value.message == (
        "Group Osaka holds records; move or delete them before deleting the group."
    )
    assert DataAccessGroup.objects.filter(pk=sites[0].pk).exists()
    assert audit_actions(classic_project) == before


def test_a_group_with_members_cannot_be_deleted(classic_project, paula_context, sites, bea_member):
    services.member_group_set(context=paula_context, member=bea_member, group=sites[1])

    with pytest.raises(InvalidInput) as refused:
        services.group_delete(context=paula_context, group=sites[1])

    assert refused.value.message == (
        "Group Kyoto has members; assign them elsewhere before deleting the group."
    )
    bea_member.refresh_from_db()
    assert bea_member.group == sites[1]


def test_an_empty_group_is_deleted_and_audited(classic_project, paula_context, sites):
    services.group_delete(context=paula_context, group=sites[1])

    assert list(classic_project.groups.values_list("name", flat=True)) == ["Osaka"]
    assert AuditEvent.objects.get(action="group.delete").details == "kyoto"


def test_assigning_a_member_and_the_groups_they_may_switch_to_is_audited(
    classic_project, paula_context, sites, bea_member
):
    changes = services.member_group_set(
        context=paula_context, member=bea_member, group=sites[0], allowed=sites
    )

    assert changes == {"group": ["", "osaka"], "allowed_groups": [[], ["kyoto", "osaka"]]}
    bea_member.refresh_from_db()
    assert bea_member.group == sites[0]
    assert set(bea_member.allowed_groups.all()) == set(sites)


def test_a_member_switches_to_an_allowed_group_and_the_switch_is_audited(
    classic_project, paula_context, sites, bea_member, site_b_bea
):
    services.member_group_set(
        context=paula_context, member=bea_member, group=sites[0], allowed=sites
    )

    services.member_group_switch(
        context=AuditContext(actor=site_b_bea), project=classic_project, group=sites[1]
    )

    bea_member.refresh_from_db()
    assert bea_member.group == sites[1]
    entry = AuditEvent.objects.get(action="member.switch")
    assert (entry.actor_name, entry.changes) == ("site_b_bea", {"group": ["osaka", "kyoto"]})


def test_a_member_cannot_switch_to_a_group_they_are_not_allowed(
    classic_project, paula_context, sites, bea_member, site_b_bea
):
    services.member_group_set(context=paula_context, member=bea_member, group=sites[0])

    with pytest.raises(NotFound):
        services.member_group_switch(
            context=AuditContext(actor=site_b_bea), project=classic_project, group=sites[1]
        )

    bea_member.refresh_from_db()
    assert bea_member.group == sites[0]
    assert not AuditEvent.objects.filter(action="member.switch").exists()


def test_a_grouped_member_cannot_manage_groups_even_with_the_right(
    classic_project, paula_context, sites, bea_member, site_b_bea
):
    bea_member.data_access_groups = True
    bea_member.group = sites[0]
    bea_member.save()
    before = audit_actions(classic_project)

    with pytest.raises(PermissionDenied):
        services.group_create(
            context=AuditContext(actor=site_b_bea), project=classic_project, name="Kobe"
        )

    assert classic_project.groups.count() == 2
    assert audit_actions(classic_project) == before


def test_the_groups_page_lists_groups_with_their_ids(client, pi_paula, classic_project, sites):
    client.force_login(pi_paula)

    html = client.get(reverse("projects:groups", args=[classic_project.pk])).content.decode()

    assert 'data-testid="group-osaka"' in html
    assert f"<td>{sites[0].pk}</td>" in html


def test_the_groups_page_is_refused_without_the_right(
    client, site_b_bea, classic_project, bea_member
):
    client.force_login(site_b_bea)

    response = client.get(reverse("projects:groups", args=[classic_project.pk]))

    assert response.status_code == 403
    assert "You do not have data access group rights in this project." in (
        response.content.decode()
    )


def test_the_groups_page_creates_renames_and_assigns(
    client, pi_paula, classic_project, sites, bea_member
):
    client.force_login(pi_paula)
    project_id = classic_project.pk

    client.post(reverse("projects:group_add", args=[project_id]), {"name": "Kobe"})
    client.post(reverse("projects:group_edit", args=[project_id, sites[0].pk]), {"name": "OC"})
    client.post(
        reverse("projects:member_group", args=[project_id, bea_member.pk]),
        {f"m{bea_member.pk}-group": str(sites[1].pk)},
    )

    assert sorted(classic_project.groups.values_list("name", flat=True)) == ["Kobe", "Kyoto", "OC"]
    bea_member.refresh_from_db()
    assert bea_member.group == sites[1]


def test_the_switcher_is_offered_only_to_members_allowed_several_groups(
    client, paula_context, classic_project, sites, bea_member, site_b_bea
):
    client.force_login(site_b_bea)
    url = reverse("projects:home", args=[classic_project.pk])
    assert 'data-testid="group-switcher"' not in client.get(url).content.decode()

    services.member_group_set(
        context=paula_context, member=bea_member, group=sites[0], allowed=sites
    )
    html = client.get(url).content.decode()
    response = client.post(
        reverse("projects:group_switch", args=[classic_project.pk]), {"group": str(sites[1].pk)}
    )

    assert 'data-testid="group-switcher"' in html
    assert response.status_code == 302
    bea_member.refresh_from_db()
    assert bea_member.group == sites[1]


HOSTILE = '</title><script>alert(1)</script><img src=x OnError="alert(2)">'


def test_hostile_group_and_role_names_render_inert(
    client, pi_paula, paula_context, classic_project, bea_member
):
    from opencrf.projects.rights_services import role_create

    group = services.group_create(context=paula_context, project=classic_project, name=HOSTILE)
    role_create(context=paula_context, project=classic_project, name=HOSTILE)
    services.member_group_set(context=paula_context, member=bea_member, group=group)
    client.force_login(pi_paula)

    pages = [
        client.get(reverse("projects:groups", args=[classic_project.pk])),
        client.get(reverse("projects:rights", args=[classic_project.pk])),
        client.get(reverse("projects:rights_member", args=[classic_project.pk, bea_member.pk])),
    ]

    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert "<script>alert(1)" not in html
        assert 'OnError="alert(2)"' not in html
        assert "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_group_changes_take_post(client, pi_paula, classic_project, sites):
    client.force_login(pi_paula)
    project_id = classic_project.pk

    responses = [
        client.get(reverse("projects:group_add", args=[project_id])),
        client.get(reverse("projects:group_edit", args=[project_id, sites[0].pk])),
        client.get(reverse("projects:group_switch", args=[project_id])),
    ]

    assert [response.status_code for response in responses] == [405, 405, 405]
