"""The report pages: the list, the viewer (paged, sorted, labelled), the builder and export."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.exports import selectors
from opencrf.exports.models import ExportFile, Report
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.projects.models import ProjectMember

pytestmark = pytest.mark.django_db

SCREENING = "screening_arm_1"
SEX_LABELS = ["女性", "男性"]


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _report(demo, user, **values):
    spec = ReportSpec(
        **({"title": "Screening", "fields": ("sex",), "events": (SCREENING,)} | values)
    )
    return report_create(context=AuditContext(actor=user), project=demo, spec=spec)


def _record_ids(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>', html)


def _cells(html: str, column: int) -> list[str]:
    rows = re.findall(r"<tr>(<th scope=\"row\">.*?)</tr>", html)
    return [re.findall(r"<td>(.*?)</td>", row)[column - 1] for row in rows]


def test_the_list_shows_a_and_b_first_then_saved_reports_with_their_actions(demo, pi_paula):
    report = _report(demo, pi_paula)
    html = _client(pi_paula).get(f"/projects/{demo.pk}/reports/").content.decode()
    assert re.findall(r'data-report="([^"]+)"', html) == ["A", "B", str(report.pk)]
    assert f"/projects/{demo.pk}/reports/{report.pk}/edit/" in html
    assert f"/projects/{demo.pk}/reports/{report.pk}/delete/" in html
    assert 'data-testid="nav-reports"' in html


def test_a_member_without_export_rights_gets_no_reports_page_and_no_menu_entry(
    django_user_model, demo
):
    user = django_user_model.objects.create_user(username="no_export_nick", password="x")
    ProjectMember.objects.create(project=demo, user=user)
    client = _client(user)
    assert client.get(f"/projects/{demo.pk}/reports/").status_code == 403
    assert 'data-testid="nav-reports"' not in client.get(f"/projects/{demo.pk}/").content.decode()


def test_the_viewer_pages_exactly(demo, pi_paula, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 5)
    report = _report(demo, pi_paula)
    client = _client(pi_paula)
    first = client.get(f"/projects/{demo.pk}/reports/{report.pk}/").content.decode()
    second = client.get(f"/projects/{demo.pk}/reports/{report.pk}/?page=2").content.decode()
    third = client.get(f"/projects/{demo.pk}/reports/{report.pk}/?page=3").content.decode()
    assert _record_ids(first) == ["1-1", "1-2", "1-3", "1-4", "2-1"]
    assert _record_ids(second) == ["2-2", "2-3", "2-4", "3-1", "3-2"]
    assert _record_ids(third) == ["3-3", "3-4"]
    assert "Page 2 of 3" in second
    assert f'href="/projects/{demo.pk}/records/1-1/"' in first


def test_the_viewer_sorts_by_a_column_and_shows_labels(demo, pi_paula):
    report = _report(demo, pi_paula)
    client = _client(pi_paula)
    url = f"/projects/{demo.pk}/reports/{report.pk}/"
    raw = client.get(url + "?sort=sex&desc=1").content.decode()
    labels = client.get(url + "?sort=sex&labels=1").content.decode()
    sexes = _cells(raw, 4)  # after the event and the two repeat columns
    assert sexes == sorted(sexes, key=lambda v: (v == "", -int(v or 0)))
    assert len(set(sexes)) > 1
    assert sorted(set(_cells(labels, 4))) == SEX_LABELS


def test_a_grouped_member_sees_only_their_sites_rows_in_the_viewer(demo, pi_paula, site_a_sam):
    report = _report(demo, pi_paula)
    html = _client(site_a_sam).get(f"/projects/{demo.pk}/reports/{report.pk}/").content.decode()
    assert _record_ids(html) == ["1-1", "1-2", "1-3", "1-4"]


def test_the_builder_saves_a_report_and_refuses_bad_logic_naming_where(demo, pi_paula):
    client = _client(pi_paula)
    url = f"/projects/{demo.pk}/reports/new/"
    bad = client.post(url, {"title": "Bad", "fields": ["sex"], "filter_logic": "[sex] = "})
    assert bad.status_code == 200
    assert "The logic cannot be read at line 1, column" in bad.content.decode()
    assert Report.objects.count() == 0
    good = client.post(
        url,
        {
            "title": "Women",
            "fields": ["sex", "rand_group"],
            "filter_logic": "[sex] = '1'",
            "live_1": "redcap_data_access_group",
            "order_1": "rand_group",
            "order_1_dir": "desc",
            "include_repeating": "1",
            "view_all": "1",
        },
    )
    report = Report.objects.get()
    assert good.status_code == 302
    assert (report.fields, report.live_filters, report.order) == (
        ["record_id", "sex", "rand_group"],
        ["redcap_data_access_group"],
        [["rand_group", "desc"]],
    )


def test_the_logic_check_names_the_problem(demo, pi_paula):
    client = _client(pi_paula)
    url = f"/projects/{demo.pk}/reports/check-logic/"
    assert client.get(url, {"logic": "[sex] = '1'"}).json() == {"problem": None}
    assert client.get(url, {"logic": "[nope] = 1"}).json() == {
        "problem": "The logic refers to fields that do not exist: nope."
    }


def test_export_as_csv_writes_the_reports_rows_into_the_archive_and_is_audited(
    demo, pi_paula, site_a_sam, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    report = _report(demo, pi_paula)
    client = _client(site_a_sam)
    response = client.post(f"/projects/{demo.pk}/reports/{report.pk}/export/", {"format": "csv"})
    assert response["Location"] == f"/projects/{demo.pk}/reports/archive/"
    export = ExportFile.objects.get()
    download = client.get(f"/projects/{demo.pk}/reports/archive/{export.pk}/download/")
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    lines = body.splitlines()
    assert lines[0] == (
        "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,sex"
    )
    assert [line.split(",")[0] for line in lines[1:]] == ["1-1", "1-2", "1-3", "1-4"]
    disposition = download["Content-Disposition"]
    assert f'filename="project_{demo.pk}_report_{report.pk}_csv.csv"' in disposition
    entry = AuditEvent.objects.filter(project_id=demo.pk, action="data.export").get()
    assert entry.actor == site_a_sam


def test_deleting_needs_the_confirmation_post(demo, pi_paula):
    report = _report(demo, pi_paula)
    client = _client(pi_paula)
    url = f"/projects/{demo.pk}/reports/{report.pk}/delete/"
    assert client.get(url).status_code == 200
    assert Report.objects.count() == 1
    assert client.post(url).status_code == 302
    assert Report.objects.count() == 0


def test_a_report_of_another_project_is_not_found_through_this_one(
    demo, pi_paula, classic_project, paula_context
):
    from opencrf.dictionary.columns import FieldRow
    from opencrf.dictionary.services import dictionary_apply

    rows = [FieldRow(field_name="pid", form_name="f", field_label="ID")]
    dictionary_apply(context=paula_context, project=classic_project, rows=rows, source="upload")
    report = _report(demo, pi_paula)
    client = _client(pi_paula)
    base = f"/projects/{classic_project.pk}/reports/{report.pk}"
    assert client.get(f"{base}/").status_code == 404
    assert client.post(f"{base}/export/", {"format": "csv"}).status_code == 404
    assert client.post(f"{base}/delete/").status_code == 404
    assert Report.objects.filter(pk=report.pk).exists()


def test_report_b_shows_the_chosen_instruments_at_the_chosen_events(demo, site_a_sam):
    client = _client(site_a_sam)
    url = f"/projects/{demo.pk}/reports/B/"
    html = client.get(url, {"forms": ["quality_of_life"], "events": ["baseline_arm_1"]})
    text = html.content.decode()
    assert re.findall(r'<th scope="col"><a href="[^"]*"[^>]*>([^<]+)</a>', text)[:3] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
    ]
    assert "qol_date" in text and "sex" not in re.findall(r">(\w+)</a>", text)
    assert set(_record_ids(text)) == {"1-1", "1-2", "1-3", "1-4"}
    nothing = client.get(url)
    assert nothing.status_code == 302
    assert nothing["Location"] == f"/projects/{demo.pk}/reports/"
