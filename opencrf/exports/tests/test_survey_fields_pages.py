"""The survey fields option on the pages and through the API: the report builder keeps it,
the viewer shows the columns, report A's export dialog asks for them, and `content=report`
answers them for a report that has them — each only within the member's own site."""

from __future__ import annotations

import csv
import io

import orjson
import pytest
from django.test import Client

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.services import AuditContext
from opencrf.exports.models import ExportFile, Report
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.exports.tests.test_survey_fields import (
    BASELINE,
    IDENTIFIER,
    TIMESTAMP,
    responses,  # noqa: F401 (a fixture)
)
from opencrf.projects.models import ProjectMember

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _qol_report(project, user, **values):
    spec = ReportSpec(
        **(
            {
                "title": "QOL",
                "fields": ("qol_energy",),
                "events": (BASELINE,),
                "survey_fields": True,
            }
            | values
        )
    )
    return report_create(context=AuditContext(actor=user), project=project, spec=spec)


def test_the_builder_keeps_the_survey_fields_option(responses, pi_paula):  # noqa: F811
    client = _client(pi_paula)
    page = client.get(f"/projects/{responses.pk}/reports/new/").content.decode()
    assert 'name="survey_fields"' in page
    answer = client.post(
        f"/projects/{responses.pk}/reports/new/",
        {"title": "QOL", "fields": ["qol_energy"], "survey_fields": "1", "view_all": "1"},
    )
    assert answer.status_code == 302
    assert Report.objects.get().survey_fields is True
    edit = client.get(f"/projects/{responses.pk}/reports/{Report.objects.get().pk}/edit/")
    assert 'id="survey-fields" checked' in edit.content.decode()


def test_the_viewer_shows_the_survey_columns_unsortable(responses, pi_paula):  # noqa: F811
    report = _qol_report(responses, pi_paula)
    html = _client(pi_paula).get(f"/projects/{responses.pk}/reports/{report.pk}/").content
    page = html.decode()
    assert f'<span title="Survey Timestamp">{TIMESTAMP}</span>' in page
    assert "<td>2026-03-01 09:15:30</td>" in page
    assert "<td>[not completed]</td>" in page
    assert "<td>P-1-1</td>" in page


def test_a_grouped_member_views_only_their_sites_timestamps(responses, pi_paula, site_a_sam):  # noqa: F811
    report = _qol_report(responses, pi_paula)
    page = _client(site_a_sam).get(f"/projects/{responses.pk}/reports/{report.pk}/").content
    assert b"2026-03-01 09:15:30" in page
    assert b"2026-04-02" not in page and b"P-2-1" not in page


def test_report_a_exports_survey_fields_when_the_dialog_asks(
    responses,  # noqa: F811
    pi_paula,
    settings,
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client = _client(pi_paula)
    view = client.get(f"/projects/{responses.pk}/reports/A/").content.decode()
    assert 'name="survey_fields"' in view and 'name="shift_survey_timestamps"' in view
    client.post(
        f"/projects/{responses.pk}/reports/A/export/", {"format": "csv", "survey_fields": "1"}
    )
    export = ExportFile.objects.get()
    assert export.options["query"] == {"survey_fields": "1"}
    download = client.get(f"/projects/{responses.pk}/reports/archive/{export.pk}/download/")
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    (row,) = [r for r in rows if r["record_id"] == "2-1" and r["redcap_event_name"] == BASELINE]
    assert (row[IDENTIFIER], row[TIMESTAMP]) == ("P-2-1", "2026-04-02 18:05:00")


def test_content_report_answers_the_reports_survey_fields(
    responses,  # noqa: F811
    pi_paula,
    site_a_sam,
    paula_context,
):
    report = _qol_report(responses, pi_paula)
    mine = token_create(context=paula_context, user=pi_paula, project=responses)
    answer = post(
        {"token": mine, "content": "report", "format": "json", "report_id": str(report.pk)}
    )
    rows = orjson.loads(answer.content)
    assert list(rows[0])[4:6] == [IDENTIFIER, TIMESTAMP]
    found = {r["record_id"]: r[TIMESTAMP] for r in rows if r[TIMESTAMP]}
    assert found == {
        "1-1": "2026-03-01 09:15:30",
        "1-2": "[not completed]",
        "2-1": "2026-04-02 18:05:00",
    }
    ProjectMember.objects.filter(user=site_a_sam).update(api_export=True)
    sams = token_create(context=AuditContext(actor=site_a_sam), user=site_a_sam, project=responses)
    theirs = orjson.loads(
        post(
            {"token": sams, "content": "report", "format": "json", "report_id": str(report.pk)}
        ).content
    )
    assert {r["record_id"]: r[TIMESTAMP] for r in theirs if r[TIMESTAMP]} == {
        "1-1": "2026-03-01 09:15:30",
        "1-2": "[not completed]",
    }


def test_the_stats_page_of_a_report_with_survey_fields_answers(responses, pi_paula):  # noqa: F811
    report = _qol_report(responses, pi_paula)
    page = _client(pi_paula).get(f"/projects/{responses.pk}/reports/{report.pk}/stats/")
    assert page.status_code == 200
    assert TIMESTAMP in page.content.decode()


def test_report_a_shows_survey_fields_when_asked(responses, pi_paula):  # noqa: F811
    client = _client(pi_paula)
    plain = client.get(f"/projects/{responses.pk}/reports/A/").content.decode()
    assert TIMESTAMP not in plain and 'data-testid="survey-toggle"' in plain
    shown = client.get(f"/projects/{responses.pk}/reports/A/", {"survey_fields": "1"})
    assert f'<span title="Survey Timestamp">{TIMESTAMP}</span>' in shown.content.decode()
