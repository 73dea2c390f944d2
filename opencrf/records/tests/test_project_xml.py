"""Projects created from REDCap's Project XML, and projects written as Project XML.

Every `project.xml` among the shared fixtures is imported; its records, exported as REDCap
exports them, must equal the folder's `data.csv`, except for the REDCap quirks listed in
QUIRKS and MISSING_COLUMNS, each with its reason.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from conftest import REDCAP_PROJECTS
from opencrf.audit.services import AuditContext
from opencrf.dictionary.design import design_of
from opencrf.projects.models import Project
from opencrf.records.export import export_layout, flat_rows
from opencrf.records.models import Record
from opencrf.records.project_xml import project_create_from_xml

XML_FIXTURES = sorted(path.parent.name for path in REDCAP_PROJECTS.glob("*/project.xml"))

SURVEY_COLUMNS = "survey identifiers and timestamps are not kept: OpenCRF has no surveys yet"

# Columns of data.csv that the export does not have, by fixture, with the reason.
MISSING_COLUMNS: dict[str, dict[str, str]] = {
    "file-repo": {
        "redcap_survey_identifier": SURVEY_COLUMNS,
        "form_1_timestamp": SURVEY_COLUMNS,
    },
    "russian": {"": "data.csv was written by R with a first column of row names"},
    "survey": {
        "redcap_survey_identifier": SURVEY_COLUMNS,
        "prescreening_survey_timestamp": SURVEY_COLUMNS,
        "participant_info_survey_timestamp": SURVEY_COLUMNS,
        "participant_morale_questionnaire_timestamp": SURVEY_COLUMNS,
    },
}

# Columns whose values differ from data.csv, by fixture, with the reason.
QUIRKS: dict[str, dict[str, str]] = {
    "decimal-comma": {
        "bmi": "calculations are computed anew, and a number with a decimal comma is not a "
        "number to them (REDCap keeps the value it computed when the data were entered)",
    },
    "decimal-comma-and-dot": {
        "bmi_comma": "calculations are computed anew, and a number with a decimal comma is not "
        "a number to them (REDCap keeps the value it computed when the data were entered)",
    },
    "metadata-write": {
        "age": "the project's age is a calculation from today's date (datediff with 'today'), "
        "computed anew at import; data.csv holds the age on the day it was exported",
    },
    "simple": {
        "mugshot": "data.csv shows REDCap's raw placeholder '[document]' for a file; OpenCRF's "
        "export gives the file's name, as REDCap's API does for labels",
    },
    "validation-types-1": {
        "f_calculated": "REDCap left the calculation empty (never saved through a form); "
        "OpenCRF computes it at import",
    },
    "multilevel-model-1": {
        "slope_factor_1": "data.csv holds ' -0.119' with a leading space where the XML holds "
        "'-0.119': REDCap's two exports disagree",
    },
}

# Fixtures whose data.csv shows each line break of a value as spaces while the XML keeps it:
# both sides are compared with runs of white space made one space.
LINE_BREAKS_AS_SPACES = {"blank-for-gray-status", "checkboxes-1", "longitudinal", "metadata-write"}

# Fixtures whose data.csv was written by R: "NA" for blank, TRUE / FALSE for a 0/1 choice,
# and (russian) characters outside the writer's locale as `<U+043E>`.
R_WRITTEN = {"russian", "simple"}

# The data file to compare with, where data.csv was exported at another time than the XML.
DATA_FILES = {
    "arm-single-delete": "data-old.csv",  # data.csv holds 20 records, the XML (and this) 16
}

# Fixtures whose data.csv is empty though the XML holds records, with the records expected.
NO_DATA_CSV = {"simple-write": 5}

# Fixtures that cannot be imported because of a gap elsewhere, with the gap.
XFAIL: dict[str, str] = {
    "arm-multiple-delete": "a record belongs to one arm in OpenCRF (Record.arm), but REDCap "
    "lets record 101 hold data in arms 1, 2 and 3; the import refuses arm 2's event",
    "potentially-problematic-values": "records_import checks values against the field's "
    "validation and refuses 'before validation 1' in a date_ymd and an integer field; REDCap "
    "kept values entered before the validation was added",
}

# Settings a fixture needs, with the reason.
ALLOW_SQL = {"validation-types-1"}  # holds an `sql` field: the administrator must allow it


@pytest.fixture
def import_context(pi_paula):
    return AuditContext(actor=pi_paula, source="import")


def fixture_param(name: str) -> object:
    if name in XFAIL:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=XFAIL[name]))
    return name


def data_csv(name: str) -> tuple[list[str], list[dict[str, str]]]:
    path = REDCAP_PROJECTS / name / DATA_FILES.get(name, "data.csv")
    if not path.exists():
        return [], []
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
    return list(reader.fieldnames or []), list(reader)


def exported(project: Project, *, groups: bool) -> tuple[list[str], list[dict[str, str]]]:
    design = design_of(project)
    layout = export_layout(project, design, groups=groups)
    rows = flat_rows(project, design, Record.objects.filter(project=project), layout)
    return layout.header, [{k: str(v) for k, v in row.items()} for row in rows]


R_VALUES = {"NA": "", "TRUE": "1", "FALSE": "0"}
R_ESCAPE = re.compile(r"<U\+([0-9A-F]{4,6})>")


def r_value(value: str) -> str:
    value = R_VALUES.get(value, value)
    return R_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), value)


def normal(name: str, rows: list[dict[str, str]], *, csv: bool = False) -> list[dict[str, str]]:
    """The rows with the documented differences of the fixture's data.csv taken away."""
    if csv and name in R_WRITTEN:
        rows = [{k: r_value(v) for k, v in row.items()} for row in rows]
    if name in LINE_BREAKS_AS_SPACES:
        rows = [{k: " ".join(v.split()) for k, v in row.items()} for row in rows]
    return rows


def differences(
    rows: list[dict[str, str]], expected: list[dict[str, str]], columns: list[str]
) -> dict[str, list[tuple[int, str, str]]]:
    """Column → the first few (row, exported, expected) that differ: a readable failure."""
    found: dict[str, list[tuple[int, str, str]]] = {}
    for index, (ours, theirs) in enumerate(zip(rows, expected, strict=False)):
        for column in columns:
            if ours[column] != theirs[column]:
                found.setdefault(column, []).append((index, ours[column], theirs[column]))
    return {column: found[column][:3] for column in found}


def test_every_fixture_project_xml_is_found():
    assert len(XML_FIXTURES) == 28
    assert {"simple", "longitudinal", "repeating-instruments", "russian"} <= set(XML_FIXTURES)


@pytest.mark.django_db
@pytest.mark.parametrize("name", [fixture_param(name) for name in XML_FIXTURES])
def test_fixture_imports_and_exports_its_data_csv(name, import_context, settings):
    settings.OPENCRF_ALLOW_SQL_FIELDS = name in ALLOW_SQL
    data = (REDCAP_PROJECTS / name / "project.xml").read_bytes()

    project = project_create_from_xml(context=import_context, data=data)

    header, expected = data_csv(name)
    if name in NO_DATA_CSV:
        assert project.records.count() == NO_DATA_CSV[name]
        return
    ours, rows = exported(project, groups="redcap_data_access_group" in header)
    missing = MISSING_COLUMNS.get(name, {})
    assert [c for c in header if c not in ours] == list(missing)
    quirks = QUIRKS.get(name, {})
    compared = [c for c in header if c in ours and c not in quirks]
    assert len(rows) == len(expected)
    assert differences(normal(name, rows), normal(name, expected, csv=True), compared) == {}
