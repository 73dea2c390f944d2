"""The report pages as an outside checker used them: the builder's right named as it is, one
message after saving, ODM offered only where it can be written, paging with first, last and a
jump, and a requester told why their export failed."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from opencrf.audit.services import AuditContext
from opencrf.exports import archive, selectors
from opencrf.exports.models import ExportFile
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.exports.tests.conftest import SITE_A
from opencrf.projects.models import ProjectMember

pytestmark = pytest.mark.django_db

QUEUED = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _report(demo, user, **values):
    spec = ReportSpec(**({"title": "Sex", "fields": ("sex",)} | values))
    return report_create(context=AuditContext(actor=user), project=demo, spec=spec)


def _formats(html: str) -> list[str]:
    select = html.split('id="export-format"')[1].split("</select>")[0]
    return re.findall(r'<option value="([^"]+)"', select)


def test_the_builder_names_the_reports_right_not_project_design(demo, pi_paula):
    html = _client(pi_paula).get(f"/projects/{demo.pk}/reports/new/").content.decode()
    assert "Editing also needs the Reports & Report Builder right." in html
    assert "Project Design" not in html


def test_saving_a_report_says_so_once(demo, pi_paula):
    client = _client(pi_paula)
    data = {"title": "Women", "fields": ["sex"], "view_all": "1"}
    response = client.post(f"/projects/{demo.pk}/reports/new/", data, follow=True)
    assert response.status_code == 200
    assert response.content.decode().count("The report was saved.") == 1


def test_odm_is_offered_for_report_a_only(demo, pi_paula):
    report = _report(demo, pi_paula)
    client = _client(pi_paula)
    every = ["csv", "csv-labels", "xlsx", "spss", "stata", "sas", "r", "tidy", "odm"]
    saved = client.get(f"/projects/{demo.pk}/reports/{report.pk}/").content.decode()
    b = client.get(f"/projects/{demo.pk}/reports/B/?forms=enrolment").content.decode()
    a = client.get(f"/projects/{demo.pk}/reports/A/").content.decode()
    assert _formats(a) == every
    assert _formats(saved) == [name for name in every if name != "odm"]
    assert _formats(b) == [name for name in every if name != "odm"]


def test_odm_of_a_saved_report_is_refused_before_anything_is_queued(demo, pi_paula, settings):
    settings.TASKS = QUEUED
    report = _report(demo, pi_paula)
    url = f"/projects/{demo.pk}/reports/{report.pk}/export/"
    response = _client(pi_paula).post(url, {"format": "odm"})
    messages = [str(m) for m in response.wsgi_request._messages]
    assert response["Location"] == f"/projects/{demo.pk}/reports/{report.pk}/"
    assert messages == ["The ODM export holds all data; it takes no selection."]
    assert not ExportFile.objects.exists()


def _page_numbers(html: str) -> list[str]:
    nav = html.split('data-testid="report-pages"')[1].split("</nav>")[0]
    return re.findall(
        r'<li class="page-item[^"]*"[^>]*><(?:a|span) class="page-link"[^>]*>([^<]+)<', nav
    )


def test_paging_offers_first_last_numbers_around_the_page_and_a_jump(demo, pi_paula, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 1)
    report = _report(demo, pi_paula, live_filters=("sex",))
    url = f"/projects/{demo.pk}/reports/{report.pk}/"
    html = _client(pi_paula).get(url + "?sort=sex&desc=1&live_sex=1&page=3").content.decode()
    total = 6  # the demo's men
    assert f"Page 3 of {total}" in html
    assert _page_numbers(html) == ["First", "Previous", "1", "2", "3", "4", "5", "Next", "Last"]
    kept = "live_sex=1&amp;sort=sex&amp;desc=1"
    assert f'href="?{kept}&amp;page=1" data-testid="page-first"' in html
    assert f'href="?{kept}&amp;page={total}" data-testid="page-last"' in html
    jump = html.split('data-testid="page-jump"')[1].split("</form>")[0]
    assert re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', jump) == [
        ("live_sex", "1"),
        ("sort", "sex"),
        ("desc", "1"),
    ]
    assert f'name="page" min="1" max="{total}" value="3"' in jump


def test_the_first_page_has_no_first_or_previous_and_a_page_past_the_end_shows_the_last(
    demo, pi_paula, monkeypatch
):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 5)
    report = _report(demo, pi_paula)
    client = _client(pi_paula)
    url = f"/projects/{demo.pk}/reports/{report.pk}/"
    first = client.get(url).content.decode()
    past = client.get(url + "?sort=sex&page=99").content.decode()  # 39 rows: 8 pages
    assert _page_numbers(first) == ["1", "2", "3", "Next", "Last"]
    assert _page_numbers(past) == ["First", "Previous", "6", "7", "8"]
    assert "Page 8 of 8" in past
    assert len(re.findall(r'<th scope="row">', past)) == 4


@pytest.fixture
def site_a_dee(django_user_model, demo):
    """A member at Sam's site with de-identified export rights."""
    user = django_user_model.objects.create_user(username="site_a_dee", password="x")
    forms = list(demo.instruments.values_list("name", flat=True))
    ProjectMember.objects.create(
        project=demo,
        user=user,
        group=demo.groups.get(unique_name=SITE_A),
        form_rights=dict.fromkeys(forms, "edit"),
        export_rights=dict.fromkeys(forms, "deidentified"),
    )
    return user


def _archive(user, demo) -> str:
    return _client(user).get(f"/projects/{demo.pk}/reports/archive/").content.decode()


def test_a_requester_whose_rights_changed_sees_their_failed_export_and_why(
    demo, site_a_sam, site_a_dee, settings
):
    settings.TASKS = QUEUED
    _client(site_a_sam).post(f"/projects/{demo.pk}/reports/A/export/", {"format": "csv"})
    export = ExportFile.objects.get()
    member = ProjectMember.objects.get(project=demo, user=site_a_sam)
    member.export_rights = dict.fromkeys(member.export_rights, "deidentified")
    member.save()

    archive.export_file_write(export.pk)

    sam = _archive(site_a_sam, demo)
    assert f'data-export="{export.pk}" data-status="failed"' in sam
    assert "The requester&#x27;s export rights changed after the export was asked for." in sam
    assert 'data-testid="export-download"' not in sam
    status = f"/projects/{demo.pk}/reports/archive/status/?id={export.pk}"
    assert [s["status"] for s in _client(site_a_sam).get(status).json()["exports"]] == ["failed"]
    # The other rules stay: Dee, with lesser rights, does not see Sam's entry.
    assert f'data-export="{export.pk}"' not in _archive(site_a_dee, demo)
    assert _client(site_a_dee).get(status).json() == {"exports": []}


def test_a_requester_moved_to_another_site_still_sees_their_failed_export(
    demo, site_a_sam, settings
):
    settings.TASKS = QUEUED
    _client(site_a_sam).post(f"/projects/{demo.pk}/reports/A/export/", {"format": "csv"})
    export = ExportFile.objects.get()
    ProjectMember.objects.filter(project=demo, user=site_a_sam).update(
        group=demo.groups.get(unique_name="hokurei_med")
    )

    archive.export_file_write(export.pk)

    assert f'data-export="{export.pk}" data-status="failed"' in _archive(site_a_sam, demo)
    download = f"/projects/{demo.pk}/reports/archive/{export.pk}/download/"
    assert _client(site_a_sam).get(download).status_code == 404


def test_another_members_failed_export_stays_hidden_from_a_lesser_member(
    demo, pi_paula, site_a_dee, settings
):
    settings.TASKS = QUEUED
    _client(pi_paula).post(f"/projects/{demo.pk}/reports/A/export/", {"format": "csv"})
    export = ExportFile.objects.get()
    ExportFile.objects.filter(pk=export.pk).update(status=ExportFile.Status.FAILED, error="x")
    assert f'data-export="{export.pk}"' not in _archive(site_a_dee, demo)
    assert f'data-export="{export.pk}" data-status="failed"' in _archive(pi_paula, demo)
