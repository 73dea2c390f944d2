"""A saved report's columns come in the report's field order on its page, in its exports and on
its stats page, as REDCap's do; report A keeps the dictionary's. A project without data access
groups shows no group column anywhere."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace

import pytest
from django.test import Client

from opencrf.audit.services import AuditContext
from opencrf.cli import main
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.services import dictionary_apply
from opencrf.exports.deidentify import Deidentify
from opencrf.exports.models import ExportFile
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.exports.selectors import report_page, report_page_streamed, report_request
from opencrf.exports.services import export_write
from opencrf.exports.table import ExportRequest, export_table
from opencrf.records.services import form_save, record_create

pytestmark = pytest.mark.django_db

ROWS = [
    FieldRow(field_name="study_id", form_name="enrolment", field_label="Study ID"),
    FieldRow(
        field_name="sex",
        form_name="enrolment",
        field_label="Sex",
        field_type="radio",
        select_choices_or_calculations="1, Female | 2, Male",
    ),
    FieldRow(
        field_name="race",
        form_name="enrolment",
        field_label="Race",
        field_type="checkbox",
        select_choices_or_calculations="A, Asian | W, White",
    ),
    FieldRow(
        field_name="weight",
        form_name="vitals",
        field_label="Weight",
        text_validation_type_or_show_slider_number="number",
    ),
]
DICTIONARY_ORDER = ["study_id", "sex", "race___a", "race___w", "weight"]
REPORT_ORDER = ["study_id", "weight", "vitals_complete", "race___a", "race___w", "sex"]


@pytest.fixture
def study(paula_context, classic_project):
    """No data access groups; three records with a sex, a race and a weight."""
    dictionary_apply(context=paula_context, project=classic_project, rows=ROWS, source="upload")
    event = classic_project.events.get()
    for n, (sex, weight) in enumerate([("1", "70"), ("2", "55.5"), ("1", "81")], start=1):
        record = record_create(context=paula_context, project=classic_project, record_id=str(n))
        for form, values in (("enrolment", {"sex": sex, "race___w": "1"}), ("vitals", {})):
            form_save(
                context=paula_context,
                record=record,
                event=event,
                form_name=form,
                values=values or {"weight": weight},
                base_version=0,
            )
    return classic_project


@pytest.fixture
def weight_first(study, paula_context):
    spec = ReportSpec(title="Weight first", fields=("weight", "vitals_complete", "race", "sex"))
    return report_create(context=paula_context, project=study, spec=spec)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _header(html: str) -> list[str]:
    return re.findall(r'<th scope="col"><a href="[^"]*" title="[^"]*">([^<]+)</a>', html)


def test_a_saved_reports_page_shows_its_columns_in_the_reports_field_order(
    study, weight_first, pi_paula
):
    html = _client(pi_paula).get(f"/projects/{study.pk}/reports/{weight_first.pk}/").content
    assert _header(html.decode()) == REPORT_ORDER


def test_a_saved_reports_rows_move_with_their_columns(study, weight_first, pi_paula):
    table = export_table(pi_paula, study, report_request(study, weight_first))
    assert [v.label for v in table.variables] == [
        "Study ID",
        "Weight",
        "Complete?",
        "Race (choice=Asian)",
        "Race (choice=White)",
        "Sex",
    ]
    assert list(table.rows())[1] == ["2", "55.5", "0", "0", "1", "2"]
    assert table.layout.label_header(table.design)[1:3] == ["Weight", "Complete?"]


def test_report_a_keeps_the_dictionarys_order(study, weight_first, pi_paula):
    html = _client(pi_paula).get(f"/projects/{study.pk}/reports/A/").content.decode()
    assert _header(html) == [
        "study_id",
        "sex",
        "race___a",
        "race___w",
        "enrolment_complete",
        "weight",
        "vitals_complete",
    ]


def test_the_archived_csv_export_of_a_report_keeps_the_reports_order(
    study, weight_first, pi_paula, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client = _client(pi_paula)
    client.post(f"/projects/{study.pk}/reports/{weight_first.pk}/export/", {"format": "csv"})
    export = ExportFile.objects.get()
    download = client.get(f"/projects/{study.pk}/reports/archive/{export.pk}/download/")
    lines = b"".join(download.streaming_content).decode("utf-8-sig").splitlines()
    assert lines == [
        ",".join(REPORT_ORDER),
        "1,70,0,0,1,1",
        "2,55.5,0,0,1,2",
        "3,81,0,0,1,1",
    ]


@pytest.mark.parametrize("format", ["spss", "stata"])
def test_a_statistics_file_of_a_report_keeps_the_reports_order(
    study, weight_first, pi_paula, tmp_path, format
):
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / f"report.{format}"
    with path.open("wb") as out:
        export_write(
            context=AuditContext(actor=pi_paula),
            project=study,
            format=format,
            request=report_request(study, weight_first),
            out=out,
        )
    read = pyreadstat.read_sav if format == "spss" else pyreadstat.read_dta
    frame, _meta = read(str(path))
    assert list(frame.columns) == REPORT_ORDER


def test_the_stats_page_lists_a_reports_fields_in_the_reports_order(study, weight_first, pi_paula):
    url = f"/projects/{study.pk}/reports/{weight_first.pk}/stats/"
    html = _client(pi_paula).get(url).content.decode()
    assert re.findall(r'data-testid="stats-field-([^"]+)"', html) == [
        "weight",
        "vitals_complete",
        "race",
        "sex",
    ]


def test_a_report_in_its_own_order_sorts_and_pages_as_when_streamed(study, weight_first, pi_paula):
    request = report_request(study, weight_first)
    order = [("weight", True)]
    keyed = report_page(pi_paula, study, request, order=order)
    streamed = report_page_streamed(pi_paula, study, request, order=order)
    assert keyed.rows == streamed.rows
    assert [row[:2] for row in keyed.rows] == [["3", "81"], ["1", "70"], ["2", "55.5"]]


def test_a_project_without_groups_has_no_group_column_in_report_a_or_its_exports(study, pi_paula):
    table = export_table(pi_paula, study, ExportRequest())
    html = _client(pi_paula).get(f"/projects/{study.pk}/reports/A/").content.decode()
    assert table.names == [*DICTIONARY_ORDER[:4], "enrolment_complete", "weight", "vitals_complete"]
    assert "redcap_data_access_group" not in html


def test_the_builder_offers_no_group_live_filter_without_groups(study, pi_paula):
    html = _client(pi_paula).get(f"/projects/{study.pk}/reports/new/").content.decode()
    assert "redcap_data_access_group" not in html
    assert '<option value="sex">' in html


def test_a_saved_report_naming_the_group_column_shows_none_without_groups(
    study, pi_paula, paula_context
):
    spec = ReportSpec(title="With group", fields=("redcap_data_access_group", "sex"))
    report = report_create(context=paula_context, project=study, spec=spec)
    table = export_table(pi_paula, study, report_request(study, report))
    assert table.names == ["study_id", "sex"]


def test_the_export_command_writes_no_group_column_without_groups(
    study, pi_paula, tmp_path, monkeypatch
):
    monkeypatch.setattr("opencrf.exports.cli.setup_django", lambda: None)
    out = tmp_path / "all.csv"
    arguments = ["export", "--project", str(study.pk), "--user", "pi_paula"]
    status = main([*arguments, "--format", "csv", "--out", str(out)])
    header = next(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert status == 0
    assert header == [*DICTIONARY_ORDER[:4], "enrolment_complete", "weight", "vitals_complete"]


def test_a_project_with_groups_keeps_the_group_column_in_report_a(demo, pi_paula):
    table = export_table(pi_paula, demo, ExportRequest())
    assert table.names[4] == "redcap_data_access_group"


def test_shifted_dates_and_hashed_ids_land_in_the_moved_columns(demo, pi_paula, paula_context):
    spec = ReportSpec(title="Sex then consent", fields=("sex", "consent_date"))
    report = report_create(context=paula_context, project=demo, spec=spec)
    options = Deidentify(shift_dates=True, hash_record_id=True)
    ordered = replace(report_request(demo, report), deidentify=options)
    moved = export_table(pi_paula, demo, ordered)
    plain = export_table(pi_paula, demo, replace(ordered, report_order=False))
    assert moved.names[-2:] == ["sex", "consent_date"]
    assert plain.names[-2:] == ["consent_date", "sex"]
    swapped = [[*row[:-2], row[-1], row[-2]] for row in plain.rows()]
    assert list(moved.rows()) == swapped
    assert any(row[-1] for row in swapped)


def test_saving_a_report_in_the_builder_keeps_its_own_field_order(study, weight_first, pi_paula):
    url = f"/projects/{study.pk}/reports/{weight_first.pk}/edit/"
    posted = {"title": "Weight first", "view_all": "1", "include_repeating": "1"}
    # the builder posts its checkboxes in the dictionary's order; race is left out, study_id
    # and enrolment_complete are added
    fields = ["study_id", "sex", "enrolment_complete", "weight", "vitals_complete"]
    response = _client(pi_paula).post(url, {**posted, "fields": fields})
    weight_first.refresh_from_db()
    assert response.status_code == 302
    assert weight_first.fields == [
        "study_id",
        "weight",
        "vitals_complete",
        "sex",
        "enrolment_complete",
    ]
