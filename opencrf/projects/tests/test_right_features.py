"""The rights pages offer a right only once its feature exists; the model keeps them all.

Alerts and randomization (issue 18) are missing; a right whose feature is missing is
not offered, are not listed in a member's summary, and saving the page keeps whatever a member
held (from REDCap, by the API or Project XML). The Data Import Tool exists, so its right is.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.projects.models import RIGHT_FLAGS, FormRight, ProjectMember
from opencrf.projects.right_features import FEATURES, form_right_choices, offered_flags

pytestmark = pytest.mark.django_db

MISSING: tuple[str, ...] = ()


@pytest.fixture
def bea_member(classic_project, site_b_bea):
    classic_project.instruments.create(name="consent", label="Consent", position=1)
    return ProjectMember.objects.create(
        project=classic_project,
        user=site_b_bea,
        data_import=True,
        lock_unlock=True,
        data_quality=True,
        logging=True,
        form_rights={"consent": "survey_edit"},
    )


def member_url(project, member):
    return reverse("projects:rights_member", args=[project.pk, member.pk])


def test_every_right_has_a_row_in_the_one_table_of_features():
    assert set(RIGHT_FLAGS) <= set(FEATURES)
    assert offered_flags() == [name for name in RIGHT_FLAGS if name not in MISSING]
    assert [value for value, _label in form_right_choices("edit")] == [
        "none",
        "read",
        "edit",
        "survey_edit",
    ]


def test_the_member_page_offers_only_rights_whose_feature_exists(
    client, pi_paula, classic_project, site_b_bea
):
    classic_project.instruments.create(name="consent", label="Consent", position=1)
    member = ProjectMember.objects.create(project=classic_project, user=site_b_bea)
    client.force_login(pi_paula)

    html = client.get(member_url(classic_project, member)).content.decode()

    for name in MISSING:
        assert f'name="{name}"' not in html
    for name in offered_flags():
        assert f'name="{name}"' in html
    assert '<option value="survey_edit">View &amp; edit, and edit survey responses</option>' in html


def test_saving_the_page_keeps_the_rights_it_does_not_offer(
    client, pi_paula, classic_project, bea_member
):
    client.force_login(pi_paula)
    page = client.get(member_url(classic_project, bea_member)).content.decode()

    response = client.post(
        member_url(classic_project, bea_member),
        {"record_create": "on", "form__consent": "survey_edit", "export__consent": "none"},
    )

    assert '<option value="survey_edit" selected>' in page  # held, so still shown
    assert response.status_code == 302
    bea_member.refresh_from_db()
    assert bea_member.data_quality is False  # offered now, and not ticked
    assert bea_member.lock_unlock is False  # offered now, and not ticked
    assert bea_member.data_import is False  # offered now, and not ticked
    assert (bea_member.logging, bea_member.record_create) == (False, True)
    assert bea_member.form_rights == {"consent": FormRight.SURVEY_EDIT}


def test_the_list_names_only_the_rights_offered(client, pi_paula, classic_project, bea_member):
    client.force_login(pi_paula)

    html = client.get(reverse("projects:rights", args=[classic_project.pk])).content.decode()

    row = html.split('data-testid="member-site_b_bea"', 1)[1].split("</tr>", 1)[0]
    assert "logging" in row
    assert "data import tool" in row
    assert "lock/unlock" in row
    assert "data quality" in row
