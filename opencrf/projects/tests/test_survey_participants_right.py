"""REDCap's "Manage survey participants" right: offered on the rights pages, kept in Project XML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from opencrf.projects.models import RIGHT_FLAGS, ProjectMember
from opencrf.projects.right_features import offered_flags
from opencrf.projects.rights import Rights
from opencrf.records.project_xml import project_create_from_xml, project_xml_write

pytestmark = pytest.mark.django_db


def test_the_participants_right_follows_the_reports_right_as_in_redcap():
    assert RIGHT_FLAGS[3:5] == ("reports", "survey_participants")
    assert "survey_participants" in offered_flags()


def test_the_member_page_offers_the_participants_checkbox_and_saves_it(
    client, pi_paula, classic_project, site_b_bea
):
    member = ProjectMember.objects.create(project=classic_project, user=site_b_bea)
    url = reverse("projects:rights_member", args=[classic_project.pk, member.pk])
    client.force_login(pi_paula)

    html = client.get(url).content.decode()
    response = client.post(url, {"survey_participants": "on"})

    assert 'name="survey_participants" id="id_survey_participants"' in html
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.survey_participants, member.design) == (True, False)


def test_only_the_edit_survey_responses_right_or_an_administrator_edits_responses():
    plain = Rights(forms={"qol": "edit"})
    survey_edit = Rights(forms={"qol": "survey_edit"})

    assert (plain.can_edit_form("qol"), plain.can_edit_survey_responses("qol")) == (True, False)
    assert survey_edit.can_edit_survey_responses("qol") is True
    assert Rights.everything().can_edit_survey_responses("qol") is True


def test_project_xml_roles_carry_the_participants_right_both_ways(paula_context, pi_paula):
    fixture = Path(__file__).resolve().parents[3] / "tests/fixtures/redcap-projects/dag"
    project = project_create_from_xml(
        context=paula_context, data=(fixture / "project.xml").read_bytes()
    )
    role = project.roles.get(name="api")
    assert role.survey_participants is True  # REDCap's file: participants="1"
    role.survey_participants = False
    role.save()

    text = "".join(project_xml_write(project, pi_paula, include_data=False, include_files=False))

    assert re.search(r'<redcap:UserRoles role_name="api" [^>]*\bparticipants="0"', text)
    copy = project_create_from_xml(context=paula_context, data=text.encode(), title="Copy")
    assert copy.roles.get(name="api").survey_participants is False
