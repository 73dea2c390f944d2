"""De-identification options, raised by the exporter's rights; data access groups; hostile
values."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import openpyxl
import pyreadstat
import pytest

from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.exports.deidentify import Keys, project_secret, shift_value
from opencrf.exports.models import ExportSecret
from opencrf.exports.tests.conftest import SITE_A, export_bytes
from opencrf.projects.models import ProjectMember
from opencrf.records.models import Record
from opencrf.records.services import form_save

pytestmark = pytest.mark.django_db

FORMATS = ["csv", "csv-labels", "xlsx", "spss", "stata", "sas", "r", "tidy"]


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _record_ids(data: bytes, format: str, tmp_path) -> set[str]:
    """The record ids in an export of any format, read with the format's reader."""
    if format in ("csv", "csv-labels"):
        return {row[0] for row in list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1:]}
    if format == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(data))["data"]
        return {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    if format in ("r", "tidy", "sas"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if format == "sas":
                (tmp_path / "d.xpt").write_bytes(archive.read("data.xpt"))
                frame, _meta = pyreadstat.read_xport(str(tmp_path / "d.xpt"))
                return set(frame.iloc[:, 0])
            return {
                row[0]
                for name in archive.namelist()
                if name.endswith(".csv")
                for row in list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"))))[1:]
            }
    path = tmp_path / "d"
    path.write_bytes(data)
    reader = pyreadstat.read_sav if format == "spss" else pyreadstat.read_dta
    frame, _meta = reader(str(path))
    return set(frame.iloc[:, 0])


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize(
    "options", [{}, {"hash_record_id": True}, {"shift_dates": True, "remove_dates": True}]
)
def test_a_grouped_member_exports_only_their_sites_records(
    demo, site_a_sam, tmp_path, format, options
):
    data = export_bytes(site_a_sam, demo, format, **options)

    ids = _record_ids(data, format, tmp_path)
    site = set(
        Record.objects.filter(project=demo, group__unique_name=SITE_A).values_list(
            "record_id", flat=True
        )
    )
    if options.get("hash_record_id"):
        keys = Keys(project_secret(demo))
        site = {keys.record_hash(record_id) for record_id in site}
    assert ids == site
    assert len(site) == 4


def test_a_grouped_members_odm_export_holds_only_their_sites_subjects(demo, site_a_sam):
    text = export_bytes(site_a_sam, demo, "odm").decode()

    assert text.count("<SubjectData ") == 4
    assert 'SubjectKey="2-1"' not in text


def test_a_grouped_member_gets_no_group_column(demo, site_a_sam):
    rows = _rows(export_bytes(site_a_sam, demo, "csv"))

    assert "redcap_data_access_group" not in rows[0]


def test_a_deidentified_right_removes_identifiers_free_text_and_dates_whatever_is_asked(
    demo, deidentified_dee
):
    rows = _rows(export_bytes(deidentified_dee, demo, "csv"))

    columns = set(rows[0])
    assert not {"dob", "phone", "contact_email"} & columns  # identifiers
    assert not {"initials", "inelig_reason", "baseline_notes"} & columns  # free text
    assert not {"consent_date", "visit_date", "signoff_dt"} & columns  # dates
    assert {"sex", "weight", "incl___1"} <= columns


def test_a_deidentified_right_hashes_an_identifier_record_id(demo, deidentified_dee):
    demo.fields.filter(field_name="record_id").update(identifier="y")
    demo.design_version += 1
    demo.save(update_fields=["design_version"])

    rows = _rows(export_bytes(deidentified_dee, demo, "csv"))

    keys = Keys(project_secret(demo))
    assert rows[0]["record_id"] == keys.record_hash("1-1")
    assert not {row["record_id"] for row in rows} & {"1-1", "1-2"}


def test_a_deidentified_right_refuses_an_odm_export_that_would_show_an_identifier_id(
    demo, deidentified_dee
):
    demo.fields.filter(field_name="record_id").update(identifier="y")
    demo.design_version += 1
    demo.save(update_fields=["design_version"])

    with pytest.raises(InvalidInput):
        export_bytes(deidentified_dee, demo, "odm")


def test_hashed_record_ids_are_stable_per_project_and_hide_the_secret(demo, pi_paula):
    first = _rows(export_bytes(pi_paula, demo, "csv", hash_record_id=True))
    second = _rows(export_bytes(pi_paula, demo, "csv", hash_record_id=True))

    secret = ExportSecret.objects.get(project=demo).secret
    assert [r["record_id"] for r in first] == [r["record_id"] for r in second]
    assert len(first[0]["record_id"]) == 32
    assert first[0]["record_id"] != "1-1"
    assert secret not in export_bytes(pi_paula, demo, "csv", hash_record_id=True).decode()


def test_shifted_dates_move_back_by_one_offset_per_record_and_keep_intervals(demo, pi_paula):
    plain = _rows(export_bytes(pi_paula, demo, "csv"))
    shifted = _rows(export_bytes(pi_paula, demo, "csv", shift_dates=True))

    days = Keys(project_secret(demo)).shift_days("1-1")
    assert 0 <= days < 365
    for before, after in zip(plain, shifted, strict=True):
        if before["record_id"] != "1-1":
            continue
        for name in ("consent_date", "dob", "visit_date"):
            if before[name]:
                moved = date.fromisoformat(before[name]) - date.fromisoformat(after[name])
                assert moved.days == days


def test_shift_value_keeps_a_datetimes_time_and_leaves_other_text_alone():
    assert shift_value("2026-03-01 09:30", 1) == "2026-02-28 09:30"
    assert shift_value("2026-03-01 09:30:15", 365) == "2025-03-01 09:30:15"
    assert shift_value("not a date", 10) == "not a date"


def test_requested_options_remove_their_columns(demo, pi_paula):
    rows = _rows(
        export_bytes(
            pi_paula, demo, "csv", remove_identifiers=True, remove_free_text=True, remove_dates=True
        )
    )

    columns = set(rows[0])
    assert not {"dob", "phone", "initials", "baseline_notes", "consent_date"} & columns
    assert {"record_id", "sex", "weight"} <= columns


def test_a_member_without_any_export_right_is_refused(demo, site_a_sam):
    ProjectMember.objects.filter(user=site_a_sam).update(export_rights={})

    with pytest.raises(PermissionDenied):
        export_bytes(site_a_sam, demo, "csv")


def test_a_non_member_is_told_the_project_does_not_exist(demo, site_b_bea):
    with pytest.raises(NotFound):
        export_bytes(site_b_bea, demo, "csv")


# ------------------------------------------------------------------- hostile values

FORMULAS = ('=HYPERLINK("http://evil")', "+1+2", "-3+4", "@SUM(A1)", "\tx", "\rcmd")


def _hostile(demo, paula):
    record = Record.objects.get(project=demo, record_id="1-1")
    event = demo.events.get(unique_name="baseline_arm_1")
    values = {
        "baseline_notes": '=1+1 "quoted", and\na newline <b>bold</b>',
        "pedometer_id": FORMULAS[0],
        "dm_meds_oth": "長" * 40_000,
    }
    form_save(
        context=AuditContext(actor=paula, source="web"),
        record=record,
        event=event,
        form_name="baseline",
        values=values,
        base_version=None,
    )
    return values


def test_raw_csv_keeps_formula_looking_text_verbatim(demo, pi_paula):
    values = _hostile(demo, pi_paula)

    rows = _rows(export_bytes(pi_paula, demo, "csv"))

    row = next(r for r in rows if r["redcap_event_name"] == "baseline_arm_1")
    assert row["pedometer_id"] == values["pedometer_id"]
    assert row["baseline_notes"] == values["baseline_notes"]


def test_xlsx_writes_formula_looking_text_as_text_never_as_a_formula(demo, pi_paula):
    values = _hostile(demo, pi_paula)

    book = openpyxl.load_workbook(io.BytesIO(export_bytes(pi_paula, demo, "xlsx")))
    sheet = book["data"]
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == "baseline_arm_1")
    cell = row[header.index("pedometer_id")]
    assert (cell.value, cell.data_type) == (values["pedometer_id"], "s")
    assert row[header.index("baseline_notes")].value == values["baseline_notes"]
    assert len(row[header.index("dm_meds_oth")].value) == 32_767  # Excel's cell limit


@pytest.mark.parametrize("format", ["spss", "stata"])
def test_statistics_files_keep_long_text_quotes_and_newlines(demo, pi_paula, tmp_path, format):
    values = _hostile(demo, pi_paula)

    path = tmp_path / "d"
    path.write_bytes(export_bytes(pi_paula, demo, format))
    reader = pyreadstat.read_sav if format == "spss" else pyreadstat.read_dta
    frame, _meta = reader(str(path))
    row = frame[frame["redcap_event_name"] == "baseline_arm_1"].iloc[0]
    assert row["baseline_notes"] == values["baseline_notes"]
    # SPSS strings hold at most 32,767 bytes: cut there, never inside a character.
    whole = values["dm_meds_oth"] if format == "stata" else "長" * (32_767 // 3)
    assert row["dm_meds_oth"] == whole


def test_hostile_labels_are_plain_text_in_every_format(demo, pi_paula, tmp_path):
    label = '<script>alert("x")</script>Weight\n"kg", \'s\\'
    demo.fields.filter(field_name="weight").update(field_label=label)
    demo.design_version += 1
    demo.save(update_fields=["design_version"])

    with zipfile.ZipFile(io.BytesIO(export_bytes(pi_paula, demo, "r"))) as archive:
        script = archive.read("read_data.R").decode()
    path = tmp_path / "d.dta"
    path.write_bytes(export_bytes(pi_paula, demo, "stata"))
    _frame, meta = pyreadstat.read_dta(str(path))

    assert 'attr(data[["weight"]], "label") <- "alert(\\"x\\")Weight \\"kg\\", \'s\\\\"' in script
    assert meta.column_names_to_labels["weight"] == 'alert("x")Weight "kg", \'s\\'


@pytest.mark.parametrize(("format", "kept"), [("spss", 255 // 3), ("stata", 80), ("sas", 256 // 3)])
def test_very_long_japanese_labels_are_cut_at_the_formats_limit_between_characters(
    demo, pi_paula, tmp_path, format, kept
):
    demo.fields.filter(field_name="weight").update(field_label="体重" * 300)
    demo.design_version += 1
    demo.save(update_fields=["design_version"])

    data = export_bytes(pi_paula, demo, format)
    path = tmp_path / "d"
    if format == "sas":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            path.write_bytes(archive.read("data.xpt"))
        _frame, meta = pyreadstat.read_xport(str(path))
    else:
        path.write_bytes(data)
        reader = pyreadstat.read_sav if format == "spss" else pyreadstat.read_dta
        _frame, meta = reader(str(path))

    assert meta.column_names_to_labels["weight"] == ("体重" * 300)[:kept]


def test_an_unknown_stored_right_counts_as_deidentified(demo, site_a_sam):
    forms = list(demo.instruments.values_list("name", flat=True))
    ProjectMember.objects.filter(user=site_a_sam).update(
        export_rights=dict.fromkeys(forms, "everything please")
    )
    demo.fields.filter(field_name="record_id").update(identifier="y")
    demo.design_version += 1
    demo.save(update_fields=["design_version"])

    rows = _rows(export_bytes(site_a_sam, demo, "csv"))

    assert not {"dob", "phone", "initials", "consent_date"} & set(rows[0])
    assert rows[0]["record_id"] == Keys(project_secret(demo)).record_hash("1-1")
