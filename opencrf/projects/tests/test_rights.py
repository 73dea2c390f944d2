"""Project rights and roles: how selectors decide them and how services change them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from opencrf.accounts.models import SecurityEvent
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.projects import rights_services
from opencrf.projects.models import ProjectMember, Role
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import (
    access_project,
    access_project_design,
    can_design,
    member_rights,
    projects_visible_to,
)
from opencrf.projects.services import arm_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def bea_member(classic_project, site_b_bea):
    return ProjectMember.objects.create(project=classic_project, user=site_b_bea)


def audit_count(project):
    return AuditEvent.objects.filter(project_id=project.pk).count()


def test_the_creator_holds_every_right(classic_project, pi_paula):
    rights = member_rights(pi_paula, classic_project)

    assert all(rights.flags().values())
    assert rights.group_id is None


def test_an_administrator_holds_every_right_without_being_a_member(classic_project, admin_ada):
    rights = member_rights(admin_ada, classic_project)

    assert rights == Rights.everything()
    assert rights.form("anything") == "edit"


def test_a_non_member_has_no_rights_and_the_project_is_missing(classic_project, site_b_bea):
    with pytest.raises(NotFound):
        member_rights(site_b_bea, classic_project)


def test_an_expired_membership_is_no_membership(classic_project, bea_member, site_b_bea):
    bea_member.expires_on = timezone.localdate() - timedelta(days=1)
    bea_member.save()

    assert list(projects_visible_to(site_b_bea)) == []
    with pytest.raises(NotFound):
        access_project(site_b_bea, classic_project.pk)
    with pytest.raises(NotFound):
        member_rights(site_b_bea, classic_project)


def test_a_membership_expiring_today_is_still_in_force(classic_project, bea_member, site_b_bea):
    bea_member.expires_on = timezone.localdate()
    bea_member.save()

    assert access_project(site_b_bea, classic_project.pk) == classic_project


def test_a_role_s_rights_replace_the_member_s_own(classic_project, bea_member, site_b_bea):
    bea_member.logging = True
    bea_member.save()
    role = Role.objects.create(
        project=classic_project, name="Monitor", unique_name="U-AAAAAAAAAA", design=True
    )
    bea_member.role = role
    bea_member.save()

    rights = member_rights(site_b_bea, classic_project)

    assert rights.design is True
    assert rights.logging is False
    assert can_design(site_b_bea, classic_project) is True


def test_an_unlisted_instrument_is_editable_with_design_rights_and_hidden_without():
    designer = Rights(design=True)
    entry = Rights(forms={"consent": "read"})

    assert designer.form("new_form") == "edit"
    assert designer.export("new_form") == "full"
    assert entry.form("new_form") == "none"
    assert entry.export("new_form") == "none"
    assert entry.form("consent") == "read"
    assert entry.can_see_form("consent") and not entry.can_edit_form("consent")


def test_design_pages_need_the_design_right(classic_project, bea_member, site_b_bea):
    with pytest.raises(PermissionDenied) as refused:
        access_project_design(site_b_bea, classic_project.pk)

    assert refused.value.message == "You do not have design rights in this project."


def test_the_old_can_design_name_still_reads_and_writes_the_design_right(
    classic_project, site_b_bea
):
    member = ProjectMember.objects.create(project=classic_project, user=site_b_bea, can_design=True)

    assert member.design is True
    assert member.can_design is True


# ---------------------------------------------------------------- members


def test_adding_a_member_audits_it_in_the_project_and_the_security_log(
    classic_project, paula_context, site_b_bea
):
    member = rights_services.member_add(
        context=paula_context,
        project=classic_project,
        username="site_b_bea",
        rights={"logging": True},
    )

    assert member.logging is True and member.design is False
    entry = AuditEvent.objects.filter(project_id=classic_project.pk, action="member.add").get()
    assert entry.details == "site_b_bea"
    assert entry.changes["user"] == ["", "site_b_bea"]
    assert entry.changes["logging"] == [None, True]
    security = SecurityEvent.objects.get(kind="rights.changed")
    assert security.user == site_b_bea
    assert security.actor == paula_context.actor
    assert security.details["action"] == "member.add"


def test_an_unknown_and_an_inactive_username_get_the_same_refusal(
    classic_project, paula_context, django_user_model
):
    django_user_model.objects.create_user(username="gone_gus", password="x", is_active=False)
    before = audit_count(classic_project)
    messages = []
    for username in ("nobody_here", "gone_gus"):
        with pytest.raises(InvalidInput) as refused:
            rights_services.member_add(
                context=paula_context, project=classic_project, username=username
            )
        messages.append(refused.value.message)

    assert messages == ["No account with that username can be added."] * 2
    assert audit_count(classic_project) == before
    assert not SecurityEvent.objects.filter(kind="rights.changed").exists()


def test_a_member_without_user_rights_cannot_add_members(classic_project, bea_member, site_b_bea):
    before = audit_count(classic_project)

    with pytest.raises(PermissionDenied):
        rights_services.member_add(
            context=AuditContext(actor=site_b_bea),
            project=classic_project,
            username="pi_paula",
        )

    assert audit_count(classic_project) == before


def test_updating_a_member_audits_each_changed_right_as_old_and_new(
    classic_project, paula_context, bea_member
):
    changes = rights_services.member_update(
        context=paula_context, member=bea_member, rights={"record_create": True, "logging": False}
    )

    assert changes == {"record_create": [False, True]}
    entry = AuditEvent.objects.filter(project_id=classic_project.pk, action="member.update").get()
    assert entry.changes == {"record_create": [False, True]}
    bea_member.refresh_from_db()
    assert bea_member.record_create is True


def test_a_member_cannot_raise_their_own_rights(classic_project, bea_member, site_b_bea):
    bea_member.user_rights = True
    bea_member.save()
    before = audit_count(classic_project)

    with pytest.raises(PermissionDenied) as refused:
        rights_services.member_update(
            context=AuditContext(actor=site_b_bea), member=bea_member, rights={"design": True}
        )

    assert refused.value.message == "You cannot raise your own rights; ask another manager."
    bea_member.refresh_from_db()
    assert bea_member.design is False
    assert audit_count(classic_project) == before


def test_a_member_may_lower_their_own_rights(classic_project, bea_member, site_b_bea):
    bea_member.user_rights = bea_member.logging = True
    bea_member.save()

    changes = rights_services.member_update(
        context=AuditContext(actor=site_b_bea), member=bea_member, rights={"logging": False}
    )

    assert changes == {"logging": [True, False]}


def test_the_last_member_with_user_rights_cannot_give_them_up(
    classic_project, paula_context, pi_paula
):
    paula = ProjectMember.objects.get(project=classic_project, user=pi_paula)
    before = audit_count(classic_project)

    with pytest.raises(InvalidInput) as refused:
        rights_services.member_update(
            context=paula_context, member=paula, rights={"user_rights": False}
        )
    with pytest.raises(InvalidInput):
        rights_services.member_remove(context=paula_context, member=paula)

    assert refused.value.message == (
        "The project needs at least one member with user rights; give them to another first."
    )
    paula.refresh_from_db()
    assert paula.user_rights is True
    assert audit_count(classic_project) == before


def test_removing_a_member_audits_it(classic_project, paula_context, bea_member):
    rights_services.member_remove(context=paula_context, member=bea_member)

    assert not ProjectMember.objects.filter(pk=bea_member.pk).exists()
    entry = AuditEvent.objects.filter(project_id=classic_project.pk, action="member.remove").get()
    assert entry.changes == {"user": ["site_b_bea", ""]}
    assert SecurityEvent.objects.filter(kind="rights.changed").count() == 1


def test_an_administrator_s_changes_are_audited_under_their_name(
    classic_project, admin_ada, bea_member
):
    context = AuditContext(actor=admin_ada)

    rights_services.member_update(context=context, member=bea_member, rights={"logging": True})

    entry = AuditEvent.objects.filter(project_id=classic_project.pk, action="member.update").get()
    assert entry.actor_name == "admin_ada"
    assert SecurityEvent.objects.get(kind="rights.changed").actor == admin_ada


# ---------------------------------------------------------------- roles


def test_a_role_gets_a_redcap_unique_name_and_is_audited(classic_project, paula_context):
    role = rights_services.role_create(
        context=paula_context, project=classic_project, name="Data entry", rights={"logging": True}
    )

    assert role.unique_name.startswith("U-")
    assert len(role.unique_name) == 12
    assert role.unique_name[2:].isalnum() and role.unique_name[2:].upper() == role.unique_name[2:]
    entry = AuditEvent.objects.filter(project_id=classic_project.pk, action="role.create").get()
    assert entry.details == role.unique_name
    assert entry.changes["name"] == ["", "Data entry"]


def test_updating_a_role_changes_the_rights_of_its_members(
    classic_project, paula_context, bea_member, site_b_bea
):
    role = rights_services.role_create(context=paula_context, project=classic_project, name="R")
    rights_services.member_update(context=paula_context, member=bea_member, role=role)

    changes = rights_services.role_update(
        context=paula_context, role=role, rights={"record_delete": True}
    )

    assert changes == {"record_delete": [False, True]}
    assert member_rights(site_b_bea, classic_project).record_delete is True
    assert AuditEvent.objects.filter(action="role.update").count() == 1


def test_a_role_with_members_cannot_be_deleted(classic_project, paula_context, bea_member):
    role = rights_services.role_create(context=paula_context, project=classic_project, name="R")
    rights_services.member_update(context=paula_context, member=bea_member, role=role)
    before = audit_count(classic_project)

    with pytest.raises(InvalidInput) as refused:
        rights_services.role_delete(context=paula_context, role=role)

    assert refused.value.message == "Role R still has members; give them another role first."
    assert Role.objects.filter(pk=role.pk).exists()
    assert audit_count(classic_project) == before


def test_a_role_without_members_is_deleted_and_audited(classic_project, paula_context):
    role = rights_services.role_create(context=paula_context, project=classic_project, name="R")

    rights_services.role_delete(context=paula_context, role=role)

    assert not Role.objects.filter(pk=role.pk).exists()
    assert AuditEvent.objects.filter(action="role.delete").get().changes == {"name": ["R", ""]}


def test_unknown_instrument_rights_are_refused(classic_project, paula_context, bea_member):
    with pytest.raises(InvalidInput):
        rights_services.member_update(
            context=paula_context, member=bea_member, rights={"form_rights": {"nope": "edit"}}
        )


def test_a_set_up_service_refuses_a_member_without_design_rights_and_changes_nothing(
    longitudinal_project, bea_member, site_b_bea
):
    bea_member.project = longitudinal_project
    bea_member.save()
    before = (longitudinal_project.arms.count(), audit_count(longitudinal_project))

    with pytest.raises(PermissionDenied):
        arm_create(
            context=AuditContext(actor=site_b_bea),
            project=longitudinal_project,
            number=2,
            name="Control",
        )

    assert (longitudinal_project.arms.count(), audit_count(longitudinal_project)) == before
