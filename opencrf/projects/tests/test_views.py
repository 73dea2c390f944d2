from __future__ import annotations

import pytest
from django.urls import reverse

from opencrf.projects.models import Project

pytestmark = pytest.mark.django_db


def test_my_projects_lists_only_my_projects(client, pi_paula, site_b_bea, classic_project):
    client.force_login(site_b_bea)
    assert list(client.get(reverse("projects:list")).context["projects"]) == []
    client.force_login(pi_paula)
    assert list(client.get(reverse("projects:list")).context["projects"]) == [classic_project]


def test_creating_a_longitudinal_project_from_the_form(client, pi_paula):
    client.force_login(pi_paula)
    response = client.post(
        reverse("projects:create"),
        {
            "title": "Sleep study",
            "purpose": "2",
            "purpose_other": "",
            "is_longitudinal": "1",
            "notes": "",
        },
    )
    project = Project.objects.get()
    assert response["Location"] == reverse("projects:home", args=[project.pk])
    assert (project.title, project.is_longitudinal, project.purpose) == ("Sleep study", True, 2)


def test_a_project_without_a_title_shows_the_form_again(client, pi_paula):
    client.force_login(pi_paula)
    response = client.post(
        reverse("projects:create"), {"title": "", "purpose": "2", "is_longitudinal": "0"}
    )
    assert response.status_code == 200
    assert "title" in response.context["form"].errors
    assert not Project.objects.exists()


def test_project_home_shows_instruments_and_events(client, pi_paula, salt_rct):
    client.force_login(pi_paula)
    page = client.get(reverse("projects:home", args=[salt_rct.pk]))
    html = page.content.decode()
    assert [i.name for i in page.context["instruments"]] == [
        "screening",
        "baseline",
        "visit",
        "adverse_event",
        "end_of_study",
    ]
    assert "week_24_arm_1" in html


def test_another_users_project_is_not_found(client, site_b_bea, classic_project):
    client.force_login(site_b_bea)
    for name in ("home", "settings", "events"):
        assert client.get(reverse(f"projects:{name}", args=[classic_project.pk])).status_code == 404


def test_settings_are_saved(client, pi_paula, classic_project):
    client.force_login(pi_paula)
    client.post(
        reverse("projects:settings", args=[classic_project.pk]),
        {
            "title": "Renamed",
            "purpose": "3",
            "purpose_other": "",
            "notes": "n",
            "custom_record_label": "",
        },
    )
    classic_project.refresh_from_db()
    assert (
        classic_project.title,
        classic_project.purpose,
        classic_project.record_autonumbering,
    ) == (
        "Renamed",
        3,
        False,
    )


def test_events_are_added_edited_and_deleted_from_the_page(client, pi_paula, longitudinal_project):
    client.force_login(pi_paula)
    base = [longitudinal_project.pk]
    client.post(
        reverse("projects:event_add", args=[*base, 1]),
        {
            "name": "Week 4",
            "day_offset": "28",
            "offset_min": "3",
            "offset_max": "3",
            "custom_label": "",
        },
    )
    event = longitudinal_project.events.get(unique_name="week_4_arm_1")
    client.post(
        reverse("projects:event_edit", args=[*base, event.pk]),
        {
            "name": "Week four",
            "day_offset": "28",
            "offset_min": "2",
            "offset_max": "5",
            "custom_label": "",
        },
    )
    event.refresh_from_db()
    assert (event.name, event.offset_min, event.offset_max) == ("Week four", 2, 5)

    client.post(reverse("projects:event_edit", args=[*base, event.pk]), {"delete": "1"})
    assert list(longitudinal_project.events.values_list("unique_name", flat=True)) == [
        "event_1_arm_1"
    ]


def test_arms_are_added_and_renamed(client, pi_paula, longitudinal_project):
    client.force_login(pi_paula)
    client.post(
        reverse("projects:arm_add", args=[longitudinal_project.pk]),
        {"number": "2", "name": "Placebo"},
    )
    client.post(
        reverse("projects:arm_edit", args=[longitudinal_project.pk, 2]), {"name": "Usual care"}
    )
    assert list(longitudinal_project.arms.values_list("number", "name")) == [
        (1, "Arm 1"),
        (2, "Usual care"),
    ]


def test_a_refused_event_shows_the_reason(client, pi_paula, longitudinal_project):
    client.force_login(pi_paula)
    response = client.post(
        reverse(
            "projects:event_edit",
            args=[longitudinal_project.pk, longitudinal_project.events.get().pk],
        ),
        {"delete": "1"},
        follow=True,
    )
    assert "A project keeps at least one event." in response.content.decode()
    assert longitudinal_project.events.count() == 1


def test_a_member_without_design_rights_cannot_change_the_set_up(
    client, django_user_model, classic_project
):
    from opencrf.projects.models import ProjectMember

    viewer = django_user_model.objects.create_user(username="monitor_mo", password="x" * 12)
    ProjectMember.objects.create(project=classic_project, user=viewer, can_design=False)
    client.force_login(viewer)

    assert client.get(reverse("projects:home", args=[classic_project.pk])).status_code == 200
    assert client.get(reverse("projects:settings", args=[classic_project.pk])).status_code == 403
    assert (
        client.get(reverse("dictionary:dictionary", args=[classic_project.pk])).status_code == 403
    )
