"""Reading REDCap's Project XML into plain values: every fixture, its quirks, broken files."""

from __future__ import annotations

import pytest

from conftest import REDCAP_PROJECTS
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.choices import parse_choices
from opencrf.dictionary.columns import API_COLUMNS
from opencrf.dictionary.csvio import parse_dictionary_csv
from opencrf.dictionary.odm import EventSpec, RepeatSpec, RoleSpec, project_xml_read
from opencrf.dictionary.odm_roles import role_rights

XML_FIXTURES = sorted(path.parent.name for path in REDCAP_PROJECTS.glob("*/project.xml"))
# `decimal-comma` spells its dictionary `dictionay.csv`; `russian` and `simple-write` have none.
DICTIONARIES = {
    name: path
    for name in XML_FIXTURES
    for path in (
        REDCAP_PROJECTS / name / "dictionary.csv",
        REDCAP_PROJECTS / name / "dictionay.csv",
    )
    if path.exists()
}

# Where the XML's dictionary differs from dictionary.csv: (field, column) → the reason.
DIFFERENCES: dict[str, dict[tuple[str, str], str]] = {
    "file-repo": {
        ("date", "field_annotation"): "dictionary.csv keeps ' @TODAY' with a leading space; "
        "REDCap trims the annotation it writes into the XML",
    },
    "metadata-write": {
        ("age", "field_type"): "the project was changed after dictionary.csv was taken: "
        "age became a calculation",
        ("age", "select_choices_or_calculations"): "the same change: the calculation",
    },
    "repeating-instruments-sparse": {
        ("age", "field_type"): "the project was changed after dictionary.csv was taken: "
        "age is a calculation there, a text field in the XML",
        ("age", "select_choices_or_calculations"): "the same change: the calculation",
    },
    "validation-types-1": {
        ("f_sql", "select_choices_or_calculations"): "REDCap does not write an sql field's "
        "query into the XML",
        ("f_slider", "text_validation_min"): "REDCap writes no RangeCheck for a slider",
        ("f_slider", "text_validation_max"): "REDCap writes no RangeCheck for a slider",
    },
}
# Fields of the XML that dictionary.csv lacks, with the reason.
EXTRA_FIELDS = {
    "simple": {"interpreter_needed": "added to the project after dictionary.csv was taken"},
}


def test_every_fixture_with_a_dictionary_is_compared():
    assert len(XML_FIXTURES) == 28
    assert sorted(set(XML_FIXTURES) - set(DICTIONARIES)) == ["russian", "simple-write"]


@pytest.mark.parametrize("name", XML_FIXTURES)
def test_fixture_project_xml_is_read(name):
    project = project_xml_read((REDCAP_PROJECTS / name / "project.xml").read_bytes())

    assert project.settings.title
    assert project.fields[0].field_name == project.record_id_field
    assert list(dict.fromkeys(row.form_name for row in project.fields)) == list(
        project.instrument_labels
    )
    assert all(row[project.record_id_field] for row in project.rows)


@pytest.mark.parametrize("name", sorted(DICTIONARIES))
def test_fixture_dictionary_equals_its_dictionary_csv(name):
    project = project_xml_read((REDCAP_PROJECTS / name / "project.xml").read_bytes())
    expected = parse_dictionary_csv(DICTIONARIES[name].read_bytes())
    extra = EXTRA_FIELDS.get(name, {})
    fields = [row for row in project.fields if row.field_name not in extra]

    assert [row.field_name for row in fields] == [row.field_name for row in expected]
    found = {
        (ours.field_name, column)
        for ours, theirs in zip(fields, expected, strict=True)
        for column in API_COLUMNS
        if not same_cell(column, getattr(ours, column), getattr(theirs, column))
    }
    assert found == set(DIFFERENCES.get(name, {}))


def same_cell(column: str, ours: str, theirs: str) -> bool:
    """Equal, where choices count as equal when their options are (REDCap's dictionary
    download writes ` | ` between a checkbox's options, its XML `|`)."""
    if column == "select_choices_or_calculations" and ours != theirs:
        return bool(parse_choices(ours)) and parse_choices(ours) == parse_choices(theirs)
    return ours == theirs


# --- What is read -------------------------------------------------------------------------------


def read(name: str):
    return project_xml_read((REDCAP_PROJECTS / name / "project.xml").read_bytes())


def test_checkbox_options_become_one_field_with_the_choices_of_redcap_checkbox_choices():
    race = next(row for row in read("simple").fields if row.field_name == "race")

    assert (race.field_type, race.select_choices_or_calculations) == (
        "checkbox",
        "1, American Indian/Alaska Native|2, Asian|3, Native Hawaiian or Other Pacific Islander"
        "|4, Black or African American|5, White|6, Unknown / Not Reported",
    )


def test_int_and_float_become_integer_and_number_with_range_checks_as_min_and_max():
    rows = {row.field_name: row for row in read("simple").fields}

    assert [
        (
            rows[name].text_validation_type_or_show_slider_number,
            rows[name].text_validation_min,
            rows[name].text_validation_max,
        )
        for name in ("height", "weight")
    ] == [("number", "130", "215"), ("integer", "35", "200")]


def test_form_status_group_and_survey_columns_are_not_fields():
    names = {row.field_name for row in read("survey").fields}

    assert not names & {
        "redcap_survey_identifier",
        "redcap_data_access_group",
        "prescreening_survey_timestamp",
        "prescreening_survey_complete",
    }


def test_formatted_label_is_taken_over_the_stripped_one():
    rows = {row.field_name: row for row in read("russian").fields}

    assert "(если ни разу, укажите << 0>>)" in rows["vsex1part_q57"].field_label


def test_classic_repeats_name_the_implicit_event_and_rows_carry_repeat_columns():
    project = read("repeating-instruments")

    assert project.events == []
    assert project.repeats == [RepeatSpec("event_1_arm_1", "bp", "[record_id]-[date_bp]")]
    assert [
        (row["record_id"], row.get("redcap_repeat_instrument"), row.get("redcap_repeat_instance"))
        for row in project.rows
    ] == [
        ("1", None, None),
        ("1", "bp", "1"),
        ("1", "bp", "2"),
        ("1", "bp", "3"),
        ("2", None, None),
        ("2", "bp", "1"),
    ]


def test_longitudinal_events_keep_arms_offsets_order_and_forms():
    project = read("longitudinal")

    assert project.settings.is_longitudinal is True
    assert project.arms == [(1, "Drug A"), (2, "Drug B")]
    assert project.events[0] == EventSpec(
        unique_name="enrollment_arm_1",
        name="Enrollment",
        arm_number=1,
        arm_name="Drug A",
        forms=("demographics", "contact_info", "baseline_data"),
    )
    assert project.events[9].unique_name == "first_visit_arm_2"
    assert (project.events[9].day_offset, project.events[9].offset_min) == (10, 2)


def test_groups_and_roles_are_kept_as_written():
    project = read("simple")

    assert [group.name for group in project.groups] == ["dag_1", "dag_2"]
    role = project.roles[0]
    assert (role.name, role.unique_name) == ("api", "U-639NX7EKW8")
    assert role.rights["data_entry"] == "[demographics,1][health,1][race_and_ethnicity,1]"
    assert role.rights["data_logging"] == "1"


def test_line_breaks_inside_values_are_kept():
    rows = read("simple").rows

    assert rows[0]["address"] == "14 Rose Cottage St.\nKenning UK, 323232"


def test_files_are_decoded_with_their_names_and_types():
    files = read("simple").files

    assert [(f.record, f.field_name, f.doc_name, f.media_type) for f in files[:2]] == [
        ("1", "mugshot", "mugshot-1.jpg", "image/jpeg"),
        ("2", "mugshot", "mugshot-2.jpg", "image/jpeg"),
    ]
    assert files[0].content.startswith(b"\xff\xd8\xff")  # a JPEG


# --- REDCap's inconsistent clinical data ---------------------------------------------------------

TINY = """<?xml version="1.0" encoding="UTF-8" ?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:redcap="https://projectredcap.org">
<Study OID="Project.T">
<GlobalVariables><StudyName>Tiny</StudyName></GlobalVariables>
<MetaDataVersion OID="M" redcap:RecordIdField="record_id">
  <Protocol><StudyEventRef StudyEventOID="Event.visit_arm_1" OrderNumber="1"/></Protocol>
  <StudyEventDef OID="Event.visit_arm_1" Name="Visit" redcap:EventName="Visit"
      redcap:UniqueEventName="visit_arm_1" redcap:ArmNum="1" redcap:ArmName="Arm One">
    <FormRef FormOID="Form.a" OrderNumber="1" redcap:FormName="a"/>
    <FormRef FormOID="Form.b" OrderNumber="2" redcap:FormName="b"/>
  </StudyEventDef>
  <FormDef OID="Form.a" Name="Form A" redcap:FormName="a">
    <ItemGroupRef ItemGroupOID="a.record_id"/>
  </FormDef>
  <FormDef OID="Form.b" Name="Form B" redcap:FormName="b">
    <ItemGroupRef ItemGroupOID="b.score"/>
  </FormDef>
  <ItemGroupDef OID="a.record_id" Name="a">
    <ItemRef ItemOID="record_id" redcap:Variable="record_id"/>
    <ItemRef ItemOID="a_complete" redcap:Variable="a_complete"/>
  </ItemGroupDef>
  <ItemGroupDef OID="b.score" Name="b">
    <ItemRef ItemOID="score" redcap:Variable="score"/>
  </ItemGroupDef>
  <ItemDef OID="record_id" Name="record_id" DataType="text" redcap:Variable="record_id"
      redcap:FieldType="text"><Question><TranslatedText>ID</TranslatedText></Question></ItemDef>
  <ItemDef OID="a_complete" Name="a_complete" DataType="text" redcap:Variable="a_complete"
      redcap:FieldType="select"/>
  <ItemDef OID="score" Name="score" DataType="integer" redcap:Variable="score"
      redcap:FieldType="text" redcap:TextValidationType="int"/>
</MetaDataVersion>
</Study>
<ClinicalData StudyOID="Project.T" MetaDataVersionOID="M">
  <SubjectData SubjectKey="7">
    {data}
  </SubjectData>
</ClinicalData>
</ODM>"""


def tiny(data: str) -> bytes:
    return TINY.replace("{data}", data).encode()


def test_items_under_another_form_and_event_blocks_of_one_event_make_one_row():
    data = """
    <StudyEventData StudyEventOID="Event.visit_arm_1" redcap:UniqueEventName="visit_arm_1">
      <FormData FormOID="Form.a" FormRepeatKey="1">
        <ItemGroupData ItemGroupOID="" ItemGroupRepeatKey="1">
          <ItemData ItemOID="record_id" Value="7"/>
          <ItemData ItemOID="score" Value="12"/>
        </ItemGroupData>
      </FormData>
    </StudyEventData>
    <StudyEventData StudyEventOID="Event.visit_arm_1" redcap:UniqueEventName="visit_arm_1">
      <FormData FormOID="Form.b" FormRepeatKey="1">
        <ItemGroupData ItemGroupOID="wrong.group" ItemGroupRepeatKey="1">
          <ItemData ItemOID="a_complete" Value="2"/>
        </ItemGroupData>
      </FormData>
    </StudyEventData>"""

    project = project_xml_read(tiny(data))

    assert project.rows == [
        {
            "record_id": "7",
            "redcap_event_name": "visit_arm_1",
            "score": "12",
            "a_complete": "2",
        }
    ]
    assert project.instrument_labels == {"a": "Form A", "b": "Form B"}


BROKEN = {
    "an unknown field": (
        '<FormData FormOID="Form.a"><ItemGroupData><ItemData ItemOID="nope" Value="1"/>'
        "</ItemGroupData></FormData>",
        "Project XML: record 7 has data for the unknown field nope.",
    ),
    "a file that is not base64": (
        '<FormData FormOID="Form.b"><ItemGroupData>'
        '<ItemDataBase64Binary ItemOID="score">not base64!</ItemDataBase64Binary>'
        "</ItemGroupData></FormData>",
        "Project XML: the file of score in record 7 is not valid base64.",
    ),
    "a repeat key that is not a number": (
        '<FormData FormOID="Form.a" FormRepeatKey="two"><ItemGroupData>'
        '<ItemData ItemOID="record_id" Value="7"/></ItemGroupData></FormData>',
        "Project XML: SubjectData 7 FormRepeatKey is not a whole number: two",
    ),
    "a repeat key below 1": (
        '<FormData FormOID="Form.a" FormRepeatKey="0"><ItemGroupData>'
        '<ItemData ItemOID="record_id" Value="7"/></ItemGroupData></FormData>',
        "Project XML: record 7 has a FormRepeatKey below 1.",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_clinical_data_is_refused_naming_the_record_and_item(case):
    data, message = BROKEN[case]

    with pytest.raises(InvalidInput) as refused:
        project_xml_read(tiny(data))

    assert refused.value.message == message


BROKEN_DESIGN = {
    "an unknown field type": (
        ('redcap:FieldType="text" redcap:TextValidationType="int"', 'redcap:FieldType="video"'),
        "Project XML: ItemDef score has the unknown redcap:FieldType video.",
    ),
    "an ItemRef without ItemDef": (
        ('<ItemRef ItemOID="score"', '<ItemRef ItemOID="missing"'),
        "Project XML: ItemRef missing refers to no ItemDef.",
    ),
    "an unknown item group": (
        ('<ItemGroupRef ItemGroupOID="b.score"/>', '<ItemGroupRef ItemGroupOID="b.none"/>'),
        "Project XML: FormDef b refers to the unknown ItemGroupDef b.none.",
    ),
    "an event without unique name": (
        ('redcap:UniqueEventName="visit_arm_1" redcap:ArmNum', "redcap:ArmNum"),
        "Project XML: StudyEventDef Event.visit_arm_1 has no redcap:UniqueEventName.",
    ),
    "an arm that is not a number": (
        ('redcap:ArmNum="1"', 'redcap:ArmNum="one"'),
        "Project XML: StudyEventDef Event.visit_arm_1 redcap:ArmNum is not a whole number: one",
    ),
    "no Study": (
        ('<Study OID="Project.T">', '<Other OID="Project.T">'),
        "Project XML: <ODM> has no <Study>.",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_DESIGN))
def test_broken_design_is_refused_naming_the_element(case):
    (old, new), message = BROKEN_DESIGN[case]
    data = tiny("").decode()
    assert old in data
    data = data.replace(old, new, 1)
    if case == "no Study":
        data = data.replace("</Study>", "</Other>")

    with pytest.raises(InvalidInput) as refused:
        project_xml_read(data.encode())

    assert refused.value.message == message


def test_a_root_other_than_odm_is_refused():
    with pytest.raises(InvalidInput) as refused:
        project_xml_read(b"<records><item/></records>")

    assert refused.value.message == (
        "Project XML: the root element must be an ODM 1.3 <ODM> element."
    )


def test_line_breaks_in_values_are_read_as_xml_reads_them_in_text():
    data = (
        '<FormData FormOID="Form.b"><ItemGroupData>'
        '<ItemData ItemOID="record_id" Value="7"/>'
        '<ItemData ItemOID="score" Value="one\r\ntwo\rthree\nfour"/>'
        "</ItemGroupData></FormData>"
    )

    rows = project_xml_read(tiny(data)).rows

    assert rows[0]["score"] == "one\ntwo\nthree\nfour"


def test_legacy_role_rights_map_to_opencrfs_rights():
    role = RoleSpec(
        name="Monitor",
        unique_name="U-ABCDEFGHIJ",
        rights={
            "design": "0",
            "data_logging": "1",
            "lock_record": "2",
            "data_quality_execute": "1",
            "data_import_tool": "1",
            "data_entry": "[a,2][b,3][gone,1]",
            "data_export_tool": "2",
            "calendar": "1",
        },
    )

    rights = role_rights(role, ["a", "b"])

    assert {flag for flag, value in rights.items() if value is True} == {
        "logging",
        "lock_unlock",
        "e_signature",
        "data_quality_execute",
        "data_import",
    }
    assert rights["form_rights"] == {"a": "read", "b": "survey_edit"}
    assert rights["export_rights"] == {"a": "deidentified", "b": "deidentified"}
