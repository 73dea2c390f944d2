"""Projects created from REDCap's Project XML, and projects written as Project XML.

Every `project.xml` among the shared fixtures is imported; its records, exported as REDCap
exports them, must equal the folder's `data.csv`, except for the REDCap quirks listed in
QUIRKS and MISSING_COLUMNS, each with its reason.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import REDCAP_PROJECTS, SALT_RCT
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.dictionary.design import design_of
from opencrf.dictionary.models import DictionaryRevision, RevisionSource
from opencrf.dictionary.odm import project_xml_read
from opencrf.files.models import StoredFile
from opencrf.files.selectors import open_stored_file
from opencrf.projects.models import RIGHT_FLAGS, Project, ProjectMember
from opencrf.projects.services import repeat_settings_set
from opencrf.records.export import export_layout, flat_rows
from opencrf.records.imports import records_import
from opencrf.records.models import FormData, Record
from opencrf.records.project_xml import (
    OUTPUT_CHUNK,
    project_create_from_xml,
    project_xml_write,
    redcap_group_name,
)
from opencrf.records.services import form_save, record_create

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
# A project made from Project XML has no calculated values, as REDCap stores none and computes
# none when it creates one (PyCap's own tests count the EAV rows of such a project); data.csv
# holds the values REDCap computed when the data were entered through its forms.
NOT_CALCULATED = "calculations are neither stored nor computed when a project is made from XML"

QUIRKS: dict[str, dict[str, str]] = {
    "decimal-comma": {"bmi": NOT_CALCULATED},
    "decimal-comma-and-dot": {"bmi": NOT_CALCULATED, "bmi_comma": NOT_CALCULATED},
    "decimal-dot": {"bmi": NOT_CALCULATED},
    "longitudinal": {"bmi": NOT_CALCULATED, "bmi2": NOT_CALCULATED},
    "metadata-write": {"age": NOT_CALCULATED, "bmi": NOT_CALCULATED},
    "simple": {
        "bmi": NOT_CALCULATED,
        "mugshot": "data.csv shows REDCap's raw placeholder '[document]' for a file; OpenCRF's "
        "export gives the file's name, as REDCap's API does for labels",
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
    # data.csv has records 102, 103, 105 and 120 in arm 2 as well; the XML (and this) not.
    "arm-multiple-delete": "data-old.csv",
}

# Fixtures whose data.csv is empty though the XML holds records, with the records expected.
NO_DATA_CSV = {"simple-write": 5}

# Settings a fixture needs, with the reason.
ALLOW_SQL = {"validation-types-1"}  # holds an `sql` field: the administrator must allow it


@pytest.fixture
def import_context(pi_paula):
    return AuditContext(actor=pi_paula, source="import")


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
@pytest.mark.parametrize("name", XML_FIXTURES)
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


# --- Round trip ----------------------------------------------------------------------------------


def written(project: Project, user, *, include_data=True, include_files=True) -> bytes:
    chunks = project_xml_write(
        project, user, include_data=include_data, include_files=include_files
    )
    return "".join(chunks).encode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", XML_FIXTURES)
def test_written_project_reads_back_the_same_and_makes_the_same_project(
    name, import_context, pi_paula, settings
):
    settings.OPENCRF_ALLOW_SQL_FIELDS = name in ALLOW_SQL
    data = (REDCAP_PROJECTS / name / "project.xml").read_bytes()
    original = project_xml_read(data)
    project = project_create_from_xml(context=import_context, data=data)

    text = written(project, pi_paula)
    again = project_xml_read(text)
    copy = project_create_from_xml(context=import_context, data=text)

    assert again.fields == original.fields
    assert again.instrument_labels == original.instrument_labels
    assert again.events == original.events
    assert again.repeats == original.repeats
    assert [group.name for group in again.groups] == [group.name for group in original.groups]
    assert [group.unique_name for group in again.groups] == list(
        project.groups.order_by("pk").values_list("unique_name", flat=True)
    )
    assert [role.name for role in again.roles] == [role.name for role in original.roles]
    assert again.settings == original.settings
    assert [(f.record, f.field_name, f.doc_name, f.content) for f in again.files] == [
        (f.record, f.field_name, f.doc_name, f.content) for f in original.files
    ]
    assert exported(copy, groups=True) == exported(project, groups=True)


@pytest.mark.django_db
def test_salt_rct_with_its_records_survives_the_round_trip(salt_rct, paula_context, pi_paula):
    rows = list(csv.DictReader((SALT_RCT / "records.csv").open(encoding="utf-8-sig")))
    records_import(context=paula_context, project=salt_rct, rows=rows)

    copy = project_create_from_xml(context=paula_context, data=written(salt_rct, pi_paula))

    assert exported(copy, groups=True) == not_calculated(salt_rct, exported(salt_rct, groups=True))
    assert len(exported(copy, groups=True)[1]) == len(exported(salt_rct, groups=True)[1]) > 30
    assert list(copy.groups.values_list("name", "unique_name")) == list(
        salt_rct.groups.values_list("name", "unique_name")
    )
    assert design_of(copy).rows == design_of(salt_rct).rows


def not_calculated(project, table):
    """An export as a copy made from the project's XML has it: calculations blank (QUIRKS)."""
    header, rows = table
    calculated = {row.field_name for row in design_of(project).rows if row.field_type == "calc"}
    return header, [{k: "" if k in calculated else v for k, v in row.items()} for row in rows]


@pytest.mark.django_db
def test_repeating_event_instances_survive_the_round_trip(import_context, pi_paula):
    data = (REDCAP_PROJECTS / "longitudinal" / "project.xml").read_bytes()
    project = project_create_from_xml(context=import_context, data=data)
    visit = project.events.get(unique_name="visit_1_arm_1")
    repeat_settings_set(
        context=import_context,
        project=project,
        settings={(visit.pk, ""): "[vld1]"},
        known_forms=[i.name for i in project.instruments.all()],
    )
    form_save(
        context=import_context,
        record=project.records.get(record_id="100"),
        event=visit,
        form_name="visit_lab_data",
        instance=2,
        values={"vld1": "3.5"},
        status=1,
        base_version=None,
    )

    copy = project_create_from_xml(context=import_context, data=written(project, pi_paula))

    assert exported(copy, groups=False) == exported(project, groups=False)
    assert FormData.objects.get(
        record__project=copy, event__unique_name="visit_1_arm_1", instance=2
    ).values == {"vld1": "3.5"}


# --- What a created project holds ---------------------------------------------------------------


@pytest.mark.django_db
def test_creator_is_a_member_with_every_right_and_the_design_comes_from_xml(
    import_context, pi_paula
):
    data = (REDCAP_PROJECTS / "simple" / "project.xml").read_bytes()

    project = project_create_from_xml(context=import_context, data=data, title="Renamed")

    member = ProjectMember.objects.get(project=project, user=pi_paula)
    assert all(getattr(member, flag) for flag in RIGHT_FLAGS)
    assert project.title == "Renamed"
    assert project.purpose == 4
    assert project.record_autonumbering is True
    assert project.require_change_reason is False
    revision = DictionaryRevision.objects.get(project=project)
    assert revision.source == RevisionSource.XML
    assert [(i.name, i.label) for i in project.instruments.all()] == [
        ("demographics", "demographics"),
        ("health", "health"),
        ("race_and_ethnicity", "race_and_ethnicity"),
    ]
    assert sorted(project.groups.values_list("name", "unique_name")) == [
        ("dag_1", "dag_1"),
        ("dag_2", "dag_2"),
    ]


@pytest.mark.django_db
def test_groups_take_redcaps_unique_names_and_records_keep_their_group(import_context):
    data = (REDCAP_PROJECTS / "dag" / "project.xml").read_bytes()

    project = project_create_from_xml(context=import_context, data=data)

    assert sorted(project.groups.values_list("name", "unique_name")) == [
        ("dag-a", "daga"),
        ("dag-b", "dagb"),
    ]
    assert sorted(
        (record.record_id, record.group.unique_name if record.group else "")
        for record in project.records.select_related("group")
    ) == [("331-1", "daga"), ("331-2", "daga"), ("332-3", "dagb")]


@pytest.mark.django_db
def test_roles_are_created_with_legacy_rights_mapped(import_context):
    data = (REDCAP_PROJECTS / "simple" / "project.xml").read_bytes()

    project = project_create_from_xml(context=import_context, data=data)

    role = project.roles.get()
    assert role.name == "api"
    assert (role.user_rights, role.data_access_groups, role.api_export, role.logging) == (
        True,
        True,
        True,
        True,
    )
    assert (role.design, role.api_import, role.record_create, role.data_quality) == (
        False,
        False,
        False,
        False,
    )
    forms = {"demographics": "edit", "health": "edit", "race_and_ethnicity": "edit"}
    assert role.form_rights == forms
    assert role.export_rights == dict.fromkeys(forms, "full")


@pytest.mark.django_db
def test_files_are_restored_with_their_names_types_and_bytes(import_context):
    data = (REDCAP_PROJECTS / "simple" / "project.xml").read_bytes()
    wanted = project_xml_read(data).files

    project = project_create_from_xml(context=import_context, data=data)

    form = FormData.objects.get(record__project=project, record__record_id="1", form_name="health")
    stored = StoredFile.objects.get(pk=int(form.values["mugshot"]))
    with open_stored_file(stored) as handle:
        content = handle.read()
    assert (stored.original_name, stored.media_type, content) == (
        "mugshot-1.jpg",
        "image/jpeg",
        wanted[0].content,
    )
    assert StoredFile.objects.filter(project=project).count() == 5


@pytest.mark.django_db
def test_records_of_a_second_arm_are_created_in_that_arm(import_context):
    data = (REDCAP_PROJECTS / "longitudinal" / "project.xml").read_bytes()

    project = project_create_from_xml(context=import_context, data=data)

    assert sorted(project.records.values_list("record_id", "arms__number")) == [
        ("100", 1),
        ("220", 1),
        ("304", 2),
    ]


# --- Writing follows the reader's rights --------------------------------------------------------


@pytest.mark.django_db
def test_written_file_holds_only_the_records_of_the_readers_group(
    import_context, site_b_bea, pi_paula
):
    project = project_create_from_xml(
        context=import_context, data=(REDCAP_PROJECTS / "dag" / "project.xml").read_bytes()
    )
    ProjectMember.objects.create(
        project=project, user=site_b_bea, group=project.groups.get(unique_name="dagb")
    )

    seen = project_xml_read(written(project, site_b_bea))

    assert {row["record_id"] for row in seen.rows} == {"332-3"}
    everyone = project_xml_read(written(project, pi_paula))
    assert {row["record_id"] for row in everyone.rows} == {"331-1", "331-2", "332-3"}


@pytest.mark.django_db
def test_written_file_leaves_out_data_and_files_unless_asked(import_context, pi_paula):
    project = project_create_from_xml(
        context=import_context, data=(REDCAP_PROJECTS / "simple" / "project.xml").read_bytes()
    )

    design_only = project_xml_read(written(project, pi_paula, include_data=False))
    without_files = project_xml_read(written(project, pi_paula, include_files=False))

    assert (design_only.rows, design_only.files) == ([], [])
    assert len(without_files.rows) == 5
    assert without_files.files == []


@pytest.mark.django_db
def test_written_file_leaves_out_forms_the_reader_may_not_export(
    import_context, site_b_bea, pi_paula
):
    project = project_create_from_xml(
        context=import_context, data=(REDCAP_PROJECTS / "simple" / "project.xml").read_bytes()
    )
    ProjectMember.objects.create(
        project=project,
        user=site_b_bea,
        export_rights={"demographics": "full", "health": "none", "race_and_ethnicity": "none"},
    )

    seen = project_xml_read(written(project, site_b_bea))

    assert set().union(*(row.keys() for row in seen.rows)) == {
        "record_id",
        "redcap_data_access_group",
        "name_first",
        "name_last",
        "address",
        "telephone",
        "email",
        "dob",
        "age",
        "sex",
        "demographics_complete",
    }
    assert seen.files == []


@pytest.mark.django_db
def test_a_record_without_data_is_written_and_read_back(import_context, pi_paula):
    project = project_create_from_xml(
        context=import_context, data=(REDCAP_PROJECTS / "longitudinal" / "project.xml").read_bytes()
    )
    record_create(
        context=import_context, project=project, record_id="999", arm=project.arms.get(number=2)
    )

    copy = project_create_from_xml(context=import_context, data=written(project, pi_paula))

    assert list(copy.records.get(record_id="999").arms.values_list("number", flat=True)) == [2]
    assert not FormData.objects.filter(record__project=copy, record__record_id="999").exists()
    assert exported(copy, groups=False) == exported(project, groups=False)


@pytest.mark.django_db
def test_writing_for_someone_outside_the_project_is_refused_before_any_text(
    import_context, site_b_bea
):
    project = project_create_from_xml(
        context=import_context, data=(REDCAP_PROJECTS / "simple" / "project.xml").read_bytes()
    )

    with pytest.raises(NotFound):
        project_xml_write(project, site_b_bea, include_data=True, include_files=True)


@pytest.mark.django_db
def test_writing_reads_records_in_chunks_with_a_fixed_number_of_queries(import_context, pi_paula):
    small, large = (
        project_create_from_xml(
            context=import_context, data=(REDCAP_PROJECTS / name / "project.xml").read_bytes()
        )
        for name in ("repeating-instruments", "multilevel-model-1")
    )

    with CaptureQueriesContext(connection) as for_two_records:
        list(project_xml_write(small, pi_paula, include_data=True, include_files=True))
    with CaptureQueriesContext(connection) as for_twenty_records:
        chunks = list(project_xml_write(large, pi_paula, include_data=True, include_files=True))

    assert len(for_twenty_records) == len(for_two_records)
    assert len(chunks) == 3
    assert all(len(chunk) < OUTPUT_CHUNK + 2_000 for chunk in chunks)


# --- Hostile and broken files: refused, nothing created -----------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><Study>&lol3;</Study></ODM>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE ODM [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"><Study>&secret;</Study></ODM>"""

DEEP = (
    b'<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3">'
    + b"<a>" * 10_000
    + b"</a>" * 10_000
    + b"</ODM>"
)


def simple_with(old: bytes, new: bytes) -> bytes:
    data = (REDCAP_PROJECTS / "simple" / "project.xml").read_bytes()
    assert old in data
    return data.replace(old, new, 1)


def simple_with_last(old: bytes, new: bytes) -> bytes:
    head, found, tail = (REDCAP_PROJECTS / "simple" / "project.xml").read_bytes().rpartition(old)
    assert found
    return head + new + tail


HOSTILE = {
    "billion laughs": (
        BILLION_LAUGHS,
        "Project XML: document type declarations and entities are not allowed.",
    ),
    "external entity": (
        EXTERNAL_ENTITY,
        "Project XML: document type declarations and entities are not allowed.",
    ),
    "10,000 nested elements": (DEEP, "Project XML: elements are nested deeper than 64 levels."),
    "data for an unknown field": (
        simple_with(b'<ItemData ItemOID="name_first"', b'<ItemData ItemOID="no_such_field"'),
        "Project XML: record 1 has data for the unknown field no_such_field.",
    ),
    "no MetaDataVersion": (
        simple_with(b"<MetaDataVersion ", b"<OtherVersion ").replace(
            b"</MetaDataVersion>", b"</OtherVersion>"
        ),
        "Project XML: <Study> has no <MetaDataVersion>.",
    ),
    "not XML": (b"record_id,name\n1,x\n", "Project XML is not well-formed XML: "),
    "a file for a text field": (
        simple_with(
            b'ItemDataBase64Binary ItemOID="mugshot"', b'ItemDataBase64Binary ItemOID="age"'
        ),
        "Project XML: record 1 has a file for age, not a file field.",
    ),
    "a bad file after four stored ones": (
        simple_with_last(
            b'ItemDataBase64Binary ItemOID="mugshot"', b'ItemDataBase64Binary ItemOID="age"'
        ),
        "Project XML: record 5 has a file for age, not a file field.",
    ),
    "an unknown purpose": (
        simple_with(b"<redcap:Purpose>4<", b"<redcap:Purpose>9<"),
        "Project XML: redcap:Purpose 9 is not one of REDCap's purposes (0 to 4).",
    ),
    "a title too long for the project": (
        simple_with(b"<StudyName>REDCapR: simple<", b"<StudyName>" + b"x" * 201 + b"<"),
        "Project XML: StudyName is longer than 200 characters: xxxxx",
    ),
    "a record id OpenCRF refuses": (
        simple_with(b'SubjectKey="1"', b'SubjectKey="a/b"').replace(
            b'ItemOID="record_id" Value="1"', b'ItemOID="record_id" Value="a/b"'
        ),
        "Project XML: record a/b: A record ID may not contain / or \\, nor be “new”.",
    ),
    "a Windows program named as a photo": (
        re.sub(
            rb"(ItemOID=\"mugshot\" redcap:DocName=\"mugshot-1.jpg\"[^>]*><!\[CDATA\[)[^\]]*",
            lambda match: match.group(1) + base64.b64encode(b"MZ\x90\x00" + b"\x00" * 60),
            (REDCAP_PROJECTS / "simple" / "project.xml").read_bytes(),
            count=1,
        ),
        "Project XML: the file mugshot-1.jpg of mugshot in record 1: “mugshot-1.jpg” cannot be "
        "stored: it looks like a Windows program.",
    ),
    # Values are kept as REDCap stored them (test_a_value_entered_before_its_validation_...),
    # but a form status is structure, and still checked.
    "a form status that does not exist": (
        simple_with(
            b'ItemOID="demographics_complete" Value="2"',
            b'ItemOID="demographics_complete" Value="7"',
        ),
        "Project XML: 1 value(s) were refused: 1 demographics_complete '7': The form status "
        "must be 0, 1 or 2.",
    ),
}


@pytest.mark.django_db
def test_a_value_entered_before_its_validation_was_added_is_kept(import_context):
    data = simple_with(b'ItemOID="dob" Value="2003-08-30"', b'ItemOID="dob" Value="yesterday"')

    project = project_create_from_xml(context=import_context, data=data)

    form = FormData.objects.get(project=project, record__record_id="1", form_name="demographics")
    assert form.values["dob"] == "yesterday"


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_or_broken_file_is_refused_and_nothing_is_created(case, import_context, settings):
    data, message = HOSTILE[case]
    before = (Project.objects.count(), AuditEvent.objects.count(), StoredFile.objects.count())

    with pytest.raises(InvalidInput) as refused:
        project_create_from_xml(context=import_context, data=data)

    assert refused.value.message.startswith(message)
    after = (Project.objects.count(), AuditEvent.objects.count(), StoredFile.objects.count())
    assert after == before
    stored = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    assert not stored.exists() or not any(path.is_file() for path in stored.rglob("*"))


@pytest.mark.parametrize(
    ("name", "unique"),
    [("Test DAG", "test_dag"), ("dag-a", "daga"), ("Site 2 (Kobe)", "site_2_kobe"), ("京都", "")],
)
def test_groups_get_the_unique_name_redcap_gives_them(name, unique):
    assert redcap_group_name(name) == unique
