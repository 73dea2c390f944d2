"""Survey fields (`redcap_survey_identifier`, `<form>_timestamp`) in reports and export files,
read back with each format's reader, on the demo study (quality of life is a survey at
baseline, week 24 and week 52)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timedelta

import openpyxl
import pandas
import pyreadstat
import pytest
from django.utils import timezone

from opencrf.audit.services import AuditContext
from opencrf.exports.deidentify import Deidentify, Keys, project_secret
from opencrf.exports.models import Report
from opencrf.exports.reports import ReportSpec, report_create
from opencrf.exports.selectors import built_in_request, report_request
from opencrf.exports.services import export_write
from opencrf.exports.table import ExportRequest, export_table
from opencrf.records.models import Record
from opencrf.records.project_xml import project_xml_write
from opencrf.records.services import form_save
from opencrf.surveys.models import Participant, Survey
from opencrf.surveys.services import response_link

pytestmark = pytest.mark.django_db
BASELINE = "baseline_arm_1"
TIMESTAMP = "quality_of_life_timestamp"
IDENTIFIER = "redcap_survey_identifier"
# When 1-1 (site A) and 2-1 (site B) completed the baseline survey (wall times in the server's
# zone, as exports write them); 1-2 only began it.
COMPLETED = {
    "1-1": datetime(2026, 3, 1, 9, 15, 30),  # noqa: DTZ001
    "2-1": datetime(2026, 4, 2, 18, 5, 0),  # noqa: DTZ001
}


@pytest.fixture
def responses(demo):
    survey = Survey.objects.get(project=demo, form_name="quality_of_life")
    event = demo.events.get(unique_name=BASELINE)
    context = AuditContext(actor=None, source="survey")
    for record_id, moment in COMPLETED.items():
        record = Record.objects.get(project=demo, record_id=record_id)
        form_save(  # the answers, as a completed survey leaves them
            context=context,
            record=record,
            event=event,
            form_name="quality_of_life",
            values={"qol_energy": "3"},
            status=2,
            base_version=None,
        )
        response = response_link(survey=survey, record=record, event=event)
        response.status = "completed"
        response.completed_at = timezone.make_aware(moment)
        response.participant = Participant.objects.create(
            project=demo, survey=survey, event=event, identifier=f"P-{record_id}"
        )
        response.save()
    began = Record.objects.get(project=demo, record_id="1-2")
    form_save(
        context=context,
        record=began,
        event=event,
        form_name="quality_of_life",
        values={"qol_energy": "2"},
        status=0,
        base_version=None,
    )
    partial = response_link(survey=survey, record=began, event=event)
    partial.status = "partial"
    partial.save()
    return demo


def written(user, project, format, *, survey_fields=True, **options) -> bytes:
    out = io.BytesIO()
    request = ExportRequest(deidentify=Deidentify(**options), survey_fields=survey_fields)
    export_write(
        context=AuditContext(actor=user, source="web"),
        project=project,
        format=format,
        request=request,
        out=out,
    )
    return out.getvalue()


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def baseline(rows, record_id, key="record_id"):
    (row,) = [r for r in rows if r[key] == record_id and r["redcap_event_name"] == BASELINE]
    return row


def shifted(moment: datetime, days: int) -> datetime:
    return moment - timedelta(days=days)


def test_csv_has_the_identifier_after_the_keys_and_the_timestamp_before_its_form(
    responses, pi_paula
):
    data = written(pi_paula, responses, "csv")
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header[:7] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
        IDENTIFIER,
        "consent_date",
    ]
    assert header[header.index(TIMESTAMP) + 1] == "qol_date"
    assert header.count(TIMESTAMP) == 1
    rows = csv_rows(data)
    assert {
        r: (baseline(rows, r)[IDENTIFIER], baseline(rows, r)[TIMESTAMP])
        for r in (
            "1-1",
            "1-2",
            "2-1",
            "3-1",
        )
    } == {
        "1-1": ("P-1-1", "2026-03-01 09:15:30"),
        "1-2": ("", "[not completed]"),
        "2-1": ("P-2-1", "2026-04-02 18:05:00"),
        "3-1": ("", ""),
    }


def test_without_the_option_no_export_has_survey_fields(responses, pi_paula):
    data = written(pi_paula, responses, "csv", survey_fields=False)
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert IDENTIFIER not in header
    assert TIMESTAMP not in header


def test_label_csv_has_survey_labels_as_headers(responses, pi_paula):
    data = written(pi_paula, responses, "csv-labels")
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header[5] == "Survey Identifier"
    assert header.count("Survey Timestamp") == 1


def test_xlsx_writes_timestamps_as_datetime_cells(responses, pi_paula):
    book = openpyxl.load_workbook(io.BytesIO(written(pi_paula, responses, "xlsx")))
    sheet = book["data"]
    header = [cell.value for cell in sheet[1]]
    at, record_at, event_at = (
        header.index(n) for n in (TIMESTAMP, "record_id", "redcap_event_name")
    )
    found = {
        row[record_at].value: row[at]
        for row in sheet.iter_rows(min_row=2)
        if row[event_at].value == BASELINE and row[record_at].value in ("1-1", "1-2")
    }
    assert found["1-1"].value == COMPLETED["1-1"]
    assert found["1-1"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert found["1-2"].value == "[not completed]"
    labels = {row[0].value: (row[1].value, row[2].value) for row in book["variables"].iter_rows()}
    assert labels[TIMESTAMP] == ("Survey Timestamp", "datetime")
    assert labels[IDENTIFIER] == ("Survey Identifier", "string")


def _read_native(tmp_path, format, data):
    if format == "sas":
        path = tmp_path / "data.xpt"
        path.write_bytes(zipfile.ZipFile(io.BytesIO(data)).read("data.xpt"))
        return pyreadstat.read_xport(str(path))
    path = tmp_path / f"data.{format}"
    path.write_bytes(data)
    return (pyreadstat.read_sav if format == "spss" else pyreadstat.read_dta)(str(path))


@pytest.mark.parametrize("format", ["spss", "stata", "sas"])
def test_statistics_files_type_timestamps_as_datetimes(tmp_path, responses, pi_paula, format):
    frame, meta = _read_native(tmp_path, format, written(pi_paula, responses, format))
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert (labels[TIMESTAMP], labels[IDENTIFIER]) == ("Survey Timestamp", "Survey Identifier")
    assert pandas.api.types.is_datetime64_any_dtype(frame[TIMESTAMP])
    at = frame[frame["redcap_event_name"] == BASELINE].set_index("record_id")
    assert at.loc["1-1", TIMESTAMP] == pandas.Timestamp(COMPLETED["1-1"])
    assert at.loc["2-1", TIMESTAMP] == pandas.Timestamp(COMPLETED["2-1"])
    assert pandas.isna(at.loc["1-2", TIMESTAMP])  # [not completed]: missing, not text
    assert pandas.isna(at.loc["3-1", TIMESTAMP])
    assert at.loc["1-1", IDENTIFIER] == "P-1-1"


def test_shift_dates_moves_timestamps_by_the_records_own_offset(tmp_path, responses, pi_paula):
    keys = Keys(project_secret(responses))
    frame, _meta = _read_native(
        tmp_path, "spss", written(pi_paula, responses, "spss", shift_dates=True)
    )
    at = frame[frame["redcap_event_name"] == BASELINE].set_index("record_id")
    for record_id, moment in COMPLETED.items():
        days = keys.shift_days(record_id)
        assert at.loc[record_id, TIMESTAMP] == pandas.Timestamp(shifted(moment, days))
    rows = csv_rows(written(pi_paula, responses, "csv", shift_dates=True))
    plain = csv_rows(written(pi_paula, responses, "csv"))
    days = keys.shift_days("1-1")
    assert baseline(rows, "1-1")[TIMESTAMP] == "2026-03-01 09:15:30".replace(
        "2026-03-01", (COMPLETED["1-1"] - timedelta(days=days)).date().isoformat()
    )
    assert baseline(rows, "1-2")[TIMESTAMP] == "[not completed]"
    screening = [r for r in rows if r["record_id"] == "1-1" and r["consent_date"]]
    original = [r for r in plain if r["record_id"] == "1-1" and r["consent_date"]]
    moved = datetime.fromisoformat(original[0]["consent_date"]) - timedelta(days=days)
    assert screening[0]["consent_date"] == moved.date().isoformat()


def test_shift_survey_timestamps_alone_leaves_the_fields_dates(tmp_path, responses, pi_paula):
    keys = Keys(project_secret(responses))
    rows = csv_rows(written(pi_paula, responses, "csv", shift_survey_timestamps=True))
    plain = csv_rows(written(pi_paula, responses, "csv"))
    for record_id, moment in COMPLETED.items():
        expected = shifted(moment, keys.shift_days(record_id)).strftime("%Y-%m-%d %H:%M:%S")
        assert baseline(rows, record_id)[TIMESTAMP] == expected
    assert [r["consent_date"] for r in rows] == [r["consent_date"] for r in plain]


def test_xlsx_shifted_timestamp_is_exact(responses, pi_paula):
    days = Keys(project_secret(responses)).shift_days("2-1")
    data = written(pi_paula, responses, "xlsx", shift_survey_timestamps=True)
    sheet = openpyxl.load_workbook(io.BytesIO(data))["data"]
    header = [cell.value for cell in sheet[1]]
    values = {
        (row[0], row[1]): row[header.index(TIMESTAMP)]
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert values[("2-1", BASELINE)] == shifted(COMPLETED["2-1"], days)


def test_hashed_ids_keep_the_offset_of_the_real_record(responses, pi_paula):
    keys = Keys(project_secret(responses))
    rows = csv_rows(written(pi_paula, responses, "csv", shift_dates=True, hash_record_id=True))
    row = baseline(rows, keys.record_hash("2-1"))
    expected = shifted(COMPLETED["2-1"], keys.shift_days("2-1"))
    assert row[TIMESTAMP] == expected.strftime("%Y-%m-%d %H:%M:%S")


def test_remove_dates_removes_timestamps_and_remove_identifiers_the_identifier(responses, pi_paula):
    no_dates = csv_rows(written(pi_paula, responses, "csv", remove_dates=True))[0]
    assert (IDENTIFIER in no_dates, TIMESTAMP in no_dates) == (True, False)
    no_ids = csv_rows(written(pi_paula, responses, "csv", remove_identifiers=True))[0]
    assert (IDENTIFIER in no_ids, TIMESTAMP in no_ids) == (False, True)


def test_a_deidentified_right_gets_no_survey_fields_whatever_is_asked(responses, deidentified_dee):
    for format in ("csv", "xlsx"):
        data = written(deidentified_dee, responses, format)
        assert b"quality_of_life_timestamp" not in _text(format, data)
        assert b"redcap_survey_identifier" not in _text(format, data)


def _text(format, data):
    if format == "xlsx":
        archive = zipfile.ZipFile(io.BytesIO(data))
        return b"".join(archive.read(name) for name in archive.namelist())
    return data


@pytest.mark.parametrize("format", ["csv", "xlsx", "spss", "stata", "sas", "r", "tidy", "odm"])
def test_a_grouped_member_never_gets_another_sites_timestamps(
    tmp_path, responses, site_a_sam, format
):
    data = written(site_a_sam, responses, format)
    blob = _unzipped(data) if format in ("xlsx", "sas", "r", "tidy") else data
    assert b"2026-04-02" not in blob and b"P-2-1" not in blob
    if format in ("spss", "stata", "sas"):
        frame, _meta = _read_native(tmp_path, format, data)
        kept = sorted(str(v) for v in frame[TIMESTAMP].dropna())
        assert kept == ["2026-03-01 09:15:30"]
        assert set(frame["record_id"]) == {"1-1", "1-2", "1-3", "1-4"}
    if format == "csv":
        rows = csv_rows(data)
        assert {r[TIMESTAMP] for r in rows} == {"", "2026-03-01 09:15:30", "[not completed]"}


def _unzipped(data):
    archive = zipfile.ZipFile(io.BytesIO(data))
    return b"".join(archive.read(name) for name in archive.namelist())


def test_r_script_reads_not_completed_as_missing(responses, pi_paula):
    archive = zipfile.ZipFile(io.BytesIO(written(pi_paula, responses, "r")))
    script = archive.read("read_data.R").decode()
    assert (
        'data[["quality_of_life_timestamp"]][data[["quality_of_life_timestamp"]] %in% '
        'c("[not completed]")] <- NA'
    ) in script
    assert 'attr(data[["quality_of_life_timestamp"]], "label") <- "Survey Timestamp"' in script


def test_tidy_tables_key_by_the_identifier_and_hold_the_timestamp(responses, pi_paula):
    archive = zipfile.ZipFile(io.BytesIO(written(pi_paula, responses, "tidy")))
    rows = list(csv.reader(io.StringIO(archive.read("quality_of_life.csv").decode("utf-8-sig"))))
    assert rows[0][:5] == [
        "record_id",
        "redcap_event_name",
        "redcap_data_access_group",
        IDENTIFIER,
        TIMESTAMP,
    ]
    first = [row for row in rows if row[0] == "1-1" and row[1] == BASELINE]
    assert first[0][3:5] == ["P-1-1", "2026-03-01 09:15:30"]


def test_odm_carries_timestamps_in_their_forms_and_reads_back(responses, pi_paula):
    xml = written(pi_paula, responses, "odm").decode()
    subject = xml[xml.index('SubjectKey="1-1"') :]
    subject = subject[: subject.index("</SubjectData>")]
    assert '<ItemData ItemOID="redcap_survey_identifier" Value="P-1-1"/>' in subject
    form = subject[subject.index('FormOID="Form.quality_of_life"') :]
    first_item = form[form.index("<ItemData") : form.index("/>") + 2]
    assert (
        first_item == '<ItemData ItemOID="quality_of_life_timestamp" Value="2026-03-01 09:15:30"/>'
    )
    partial = xml[xml.index('SubjectKey="1-2"') :]
    partial = partial[: partial.index("</SubjectData>")]
    assert 'ItemOID="quality_of_life_timestamp" Value="[not completed]"' in partial
    without = written(pi_paula, responses, "odm", survey_fields=False).decode()
    assert "quality_of_life_timestamp" not in without


def test_odm_refuses_shifted_survey_timestamps(responses, pi_paula):
    from opencrf.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        written(pi_paula, responses, "odm", shift_survey_timestamps=True)


def test_project_xml_without_survey_fields_is_unchanged(responses, pi_paula):
    xml = "".join(project_xml_write(responses, pi_paula, include_data=True, include_files=False))
    assert "_timestamp" not in xml.split("<ClinicalData")[1]


def test_a_saved_report_with_survey_fields_shows_them_in_its_order(responses, pi_paula):
    report = report_create(
        context=AuditContext(actor=pi_paula, source="web"),
        project=responses,
        spec=ReportSpec(title="QOL", fields=("qol_energy", "consent_date"), survey_fields=True),
    )
    assert Report.objects.get(pk=report.pk).survey_fields is True
    table = export_table(pi_paula, responses, report_request(responses, report))
    assert table.names == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        IDENTIFIER,
        TIMESTAMP,
        "qol_energy",
        "consent_date",
    ]
    labels = {v.name: (v.label, v.kind) for v in table.variables}
    assert labels[TIMESTAMP] == ("Survey Timestamp", "datetime")


def test_built_in_reports_take_the_option(responses, pi_paula):
    a = export_table(pi_paula, responses, built_in_request(responses, "A", survey_fields=True))
    b = export_table(
        pi_paula,
        responses,
        built_in_request(responses, "B", ["enrolment"], survey_fields=True),
    )
    assert TIMESTAMP in a.names and IDENTIFIER in a.names
    assert IDENTIFIER in b.names and TIMESTAMP not in b.names  # no survey form chosen


def test_the_export_command_takes_survey_fields_and_shifts_them(
    responses, pi_paula, tmp_path, capsys, monkeypatch
):
    from opencrf.cli import main

    monkeypatch.setattr("opencrf.exports.cli.setup_django", lambda: None)
    out = tmp_path / "qol.csv"
    arguments = ["export", "--project", str(responses.pk), "--user", "pi_paula"]
    arguments += ["--format", "csv", "--survey-fields", "--out", str(out)]
    status = main([*arguments, "--deidentify", "shift-survey-timestamps"])
    rows = csv_rows(out.read_bytes())
    days = Keys(project_secret(responses)).shift_days("1-1")
    expected = shifted(COMPLETED["1-1"], days).strftime("%Y-%m-%d %H:%M:%S")
    assert (status, baseline(rows, "1-1")[TIMESTAMP]) == (0, expected)
    assert "de-identification: shift_survey_timestamps" in capsys.readouterr().err
