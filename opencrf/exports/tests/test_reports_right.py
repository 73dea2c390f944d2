"""Building reports takes the reports right (REDCap's "Reports & Report Builder"), not design."""

from __future__ import annotations

import pytest
from django.test import Client

from opencrf.exports.models import Report
from opencrf.projects.models import ProjectMember

pytestmark = pytest.mark.django_db


def _statistician(django_user_model, demo, *, reports):
    user = django_user_model.objects.create_user(username="stats_stan", password="x")
    forms = list(demo.instruments.values_list("name", flat=True))
    ProjectMember.objects.create(
        project=demo,
        user=user,
        reports=reports,
        design=False,
        export_rights=dict.fromkeys(forms, "full"),
    )
    client = Client()
    client.force_login(user)
    return client


def test_a_member_with_the_reports_right_but_no_design_builds_a_report(django_user_model, demo):
    client = _statistician(django_user_model, demo, reports=True)

    listing = client.get(f"/projects/{demo.pk}/reports/").content.decode()
    page = client.get(f"/projects/{demo.pk}/reports/new/")
    saved = client.post(
        f"/projects/{demo.pk}/reports/new/",
        {"title": "Sexes", "fields": ["sex"], "view_all": "1", "include_repeating": "1"},
    )

    assert f"/projects/{demo.pk}/reports/new/" in listing
    assert page.status_code == 200
    assert saved.status_code == 302
    assert list(Report.objects.values_list("title", "fields")) == [("Sexes", ["record_id", "sex"])]


def test_a_member_without_the_reports_right_may_view_but_not_build(django_user_model, demo):
    client = _statistician(django_user_model, demo, reports=False)

    listing = client.get(f"/projects/{demo.pk}/reports/")
    page = client.get(f"/projects/{demo.pk}/reports/new/")
    refused = client.post(f"/projects/{demo.pk}/reports/new/", {"title": "Sexes"})

    assert listing.status_code == 200
    assert f"/projects/{demo.pk}/reports/new/" not in listing.content.decode()
    assert (page.status_code, refused.status_code) == (403, 403)
    assert Report.objects.count() == 0


def test_the_design_right_alone_no_longer_builds_reports(django_user_model, demo):
    client = _statistician(django_user_model, demo, reports=False)
    ProjectMember.objects.filter(user__username="stats_stan").update(design=True)

    assert client.get(f"/projects/{demo.pk}/reports/new/").status_code == 403
