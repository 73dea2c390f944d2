"""Every format, read back with its own reader, on the demo study."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import openpyxl
import pyreadstat
import pytest

from opencrf.audit.models import AuditEvent
from opencrf.exports.tests.conftest import export_bytes
from opencrf.records.models import Record

pytestmark = pytest.mark.django_db

READERS = {"spss": pyreadstat.read_sav, "stata": pyreadstat.read_dta}


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _native(tmp_path, data: bytes, format: str):
    path = tmp_path / f"export.{format}"
    if format == "sas":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            path.write_bytes(archive.read("data.xpt"))
        return pyreadstat.read_xport(str(path))
    path.write_bytes(data)
    return READERS[format](str(path))


def test_raw_csv_has_redcaps_columns_and_one_row_per_record_event_and_instance(demo, pi_paula):
    rows = _rows(export_bytes(pi_paula, demo, "csv"))

    assert len(rows) == 39
    assert list(rows[0])[:5] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
    ]
    first = rows[0]
    assert (first["record_id"], first["redcap_event_name"], first["sex"]) == (
        "1-1",
        "screening_arm_1",
        "2",
    )
    assert {row["record_id"] for row in rows} == set(
        Record.objects.filter(project=demo).values_list("record_id", flat=True)
    )


def test_label_csv_has_label_headers_and_choice_labels(demo, pi_paula):
    rows = list(csv.reader(io.StringIO(export_bytes(pi_paula, demo, "csv-labels").decode())))

    header = rows[0]
    assert header[0] == "\ufeff研究対象者識別コード"
    sex = header.index("性別")
    assert rows[1][sex] == "女性"


@pytest.mark.parametrize("format", ["spss", "stata", "sas"])
def test_statistics_files_carry_labels_types_and_japanese_text(demo, pi_paula, tmp_path, format):
    frame, meta = _native(tmp_path, export_bytes(pi_paula, demo, format), format)

    assert frame.shape[0] == 39
    labels = meta.column_names_to_labels
    assert labels["sex"] == "性別"
    assert labels["consent_date"] == "同意取得日"
    first = frame.iloc[0]
    assert first["record_id"] == "1-1"
    assert first["sex"] == 2.0
    assert first["consent_date"] == date(2025, 5, 11)
    assert frame["weight"].dtype == "float64"
    assert frame["weight"].iloc[1] == 61.3
    assert "低血糖 / Hypoglycaemia" in set(frame["ae_term"])
    if format != "sas":
        values = meta.variable_value_labels
        assert values["sex"] == {1: "男性", 2: "女性"}
        assert values["incl___1"] == {0: "Unchecked", 1: "Checked"}
        assert values["enrolment_complete"] == {0: "Incomplete", 1: "Unverified", 2: "Complete"}
        assert values["excl_any"] == {1: "Yes", 0: "No"}


def test_the_sas_export_ships_its_value_labels_as_a_proc_format_program(demo, pi_paula):
    with zipfile.ZipFile(io.BytesIO(export_bytes(pi_paula, demo, "sas"))) as archive:
        program = archive.read("formats.sas").decode()

    assert "proc format;" in program
    assert "2 = '女性'" in program
    assert "format sex F" in program


def test_xlsx_has_typed_cells_and_a_codebook(demo, pi_paula):
    book = openpyxl.load_workbook(io.BytesIO(export_bytes(pi_paula, demo, "xlsx")))
    data, codebook = book["data"], book["variables"]
    header = [cell.value for cell in data[1]]

    assert data.max_row == 40
    row = [cell.value for cell in data[2]]
    assert row[header.index("record_id")] == "1-1"
    assert row[header.index("sex")] == "2"  # codes stay text: `01` is not `1`
    assert row[header.index("consent_date")].date() == date(2025, 5, 11)
    assert [cell.value for cell in codebook[1]] == ["variable", "label", "type", "values"]
    sex = next(r for r in codebook.iter_rows(values_only=True) if r[0] == "sex")
    assert sex == ("sex", "性別", "choice", "1, 男性 | 2, 女性")


def test_r_export_holds_the_csv_and_a_script_with_factors_and_labels(demo, pi_paula):
    with zipfile.ZipFile(io.BytesIO(export_bytes(pi_paula, demo, "r"))) as archive:
        rows = _rows(archive.read("data.csv"))
        script = archive.read("read_data.R").decode()

    assert len(rows) == 39
    assert (
        'data[["sex"]] <- factor(data[["sex"]], levels = c("1", "2"), labels = c("男性", "女性"))'
    ) in script
    assert 'data[["consent_date"]] <- as.Date(data[["consent_date"]])' in script
    assert 'attr(data[["sex"]], "label") <- "性別"' in script


def test_tidy_export_has_one_table_per_instrument_and_repeats_keyed_by_instance(demo, pi_paula):
    with zipfile.ZipFile(io.BytesIO(export_bytes(pi_paula, demo, "tidy"))) as archive:
        names = archive.namelist()
        events = _rows(archive.read("adverse_event.csv"))
        enrolment = _rows(archive.read("enrolment.csv"))

    assert names == [f"{i.name}.csv" for i in demo.instruments.all()]
    assert list(events[0])[:4] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instance",
        "redcap_data_access_group",
    ]
    assert (events[0]["record_id"], events[0]["ae_term"]) == ("1-1", "低血糖 / Hypoglycaemia")
    assert len(enrolment) == 12
    assert "redcap_repeat_instance" not in enrolment[0]


def test_odm_export_is_project_xml_with_the_clinical_data(demo, pi_paula):
    text = export_bytes(pi_paula, demo, "odm").decode()

    assert text.startswith("<?xml")
    assert "<ClinicalData" in text
    assert text.count("<SubjectData ") == 12


def test_each_export_is_logged_with_its_format_and_rows(demo, pi_paula):
    export_bytes(pi_paula, demo, "stata")

    entry = AuditEvent.objects.filter(project_id=demo.pk, action="data.export").get()
    assert entry.details == "format stata; 39 rows; de-identification: none"
    assert entry.actor_name == "pi_paula"


def test_a_selection_of_forms_and_events_keeps_the_record_id_first(demo, pi_paula):
    import io as _io

    from opencrf.audit.services import AuditContext
    from opencrf.exports.services import export_write
    from opencrf.exports.table import ExportRequest

    out = _io.BytesIO()
    request = ExportRequest(forms=("visit",), events=frozenset({"week_12_arm_1"}))
    export_write(
        context=AuditContext(actor=pi_paula, source="web"),
        project=demo,
        format="csv",
        request=request,
        out=out,
    )

    rows = _rows(out.getvalue())
    assert list(rows[0])[:6] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
        "visit_date",
    ]
    assert list(rows[0])[-1] == "visit_complete"
    assert {row["redcap_event_name"] for row in rows} == {"week_12_arm_1"}
