"""REDCap's "Reports & Report Builder" right: on the rights pages, in the audit, in upgrades."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import translation

from opencrf.audit.models import AuditEvent
from opencrf.projects.models import RIGHT_FLAGS, ProjectMember, Role
from opencrf.projects.right_features import offered_flags
from opencrf.records.project_xml import project_create_from_xml, project_xml_write

pytestmark = pytest.mark.django_db

LABEL = "reports and report builder"


@pytest.fixture
def bea_member(classic_project, site_b_bea):
    return ProjectMember.objects.create(project=classic_project, user=site_b_bea)


def member_url(project, member):
    return reverse("projects:rights_member", args=[project.pk, member.pk])


def test_the_reports_right_follows_data_access_groups_as_in_redcap():
    assert RIGHT_FLAGS[:4] == ("design", "user_rights", "data_access_groups", "reports")
    assert "reports" in offered_flags()


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_member_page_offers_the_reports_checkbox_in_both_languages(
    client, pi_paula, classic_project, bea_member, language
):
    client.force_login(pi_paula)
    with translation.override(language):
        label = translation.gettext(LABEL)
        html = client.get(
            member_url(classic_project, bea_member), HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()

    assert f'<html lang="{language}">' in html
    assert 'name="reports" id="id_reports"' in html
    assert f'<label class="form-check-label" for="id_reports">{label}</label>' in html


def test_the_role_page_offers_the_reports_checkbox(client, pi_paula, classic_project):
    client.force_login(pi_paula)

    html = client.get(reverse("projects:role_new", args=[classic_project.pk])).content.decode()

    assert 'name="reports" id="id_reports"' in html


def test_saving_the_reports_right_alone_stores_it_and_audits_the_change(
    client, pi_paula, classic_project, bea_member
):
    client.force_login(pi_paula)

    response = client.post(member_url(classic_project, bea_member), {"reports": "on"})

    assert response.status_code == 302
    bea_member.refresh_from_db()
    assert (bea_member.reports, bea_member.design) == (True, False)
    entry = AuditEvent.objects.get(project_id=classic_project.pk, action="member.update")
    assert entry.changes["reports"] == [False, True]


def test_a_role_keeps_the_reports_right_it_is_given_and_loses_it_when_unticked(
    client, pi_paula, classic_project
):
    client.force_login(pi_paula)
    client.post(
        reverse("projects:role_new", args=[classic_project.pk]),
        {"name": "Statistician", "reports": "on"},
    )
    role = Role.objects.get(project=classic_project)
    assert (role.reports, role.design) == (True, False)

    client.post(
        reverse("projects:role_edit", args=[classic_project.pk, role.pk]),
        {"name": "Statistician"},
    )

    role.refresh_from_db()
    assert role.reports is False
    update = AuditEvent.objects.get(project_id=classic_project.pk, action="role.update")
    assert update.changes["reports"] == [True, False]


def test_a_new_project_s_creator_holds_the_reports_right(classic_project, pi_paula):
    assert ProjectMember.objects.get(project=classic_project, user=pi_paula).reports is True


def test_the_upgrade_gives_the_reports_right_to_designers_only(
    classic_project, pi_paula, site_b_bea
):
    backfill = importlib.import_module("opencrf.projects.migrations.0009_reports_right_backfill")
    ProjectMember.objects.filter(user=pi_paula).update(reports=False)
    bea = ProjectMember.objects.create(project=classic_project, user=site_b_bea, logging=True)
    designer = Role.objects.create(
        project=classic_project, name="Designer", unique_name="U-DESIGN0001", design=True
    )
    monitor = Role.objects.create(
        project=classic_project, name="Monitor", unique_name="U-MONITOR001", logging=True
    )

    backfill.grant_to_designers(apps, None)

    members = ProjectMember.objects.filter(project=classic_project)
    assert dict(members.values_list("user__username", "reports")) == {
        "pi_paula": True,
        "site_b_bea": False,
    }
    assert bea.pk in members.values_list("pk", flat=True)
    roles = Role.objects.filter(pk__in=[designer.pk, monitor.pk])
    assert dict(roles.values_list("name", "reports")) == {"Designer": True, "Monitor": False}


def test_project_xml_roles_carry_the_reports_right_both_ways(paula_context, pi_paula):
    fixture = Path(__file__).resolve().parents[3] / "tests/fixtures/redcap-projects/dag"
    project = project_create_from_xml(
        context=paula_context, data=(fixture / "project.xml").read_bytes()
    )
    role = project.roles.get(name="api")
    assert role.reports is False  # REDCap's file: reports="0"
    role.reports = True
    role.save()

    text = "".join(project_xml_write(project, pi_paula, include_data=False, include_files=False))

    assert re.search(r'<redcap:UserRoles role_name="api" [^>]*\breports="1"', text)
    copy = project_create_from_xml(context=paula_context, data=text.encode(), title="Copy")
    assert copy.roles.get(name="api").reports is True
