"""Write a project's design as REDCap's Project XML (CDISC ODM 1.3.1 + `redcap:` extensions).

The parts here are the design only: `GlobalVariables` (settings, repeat set-up, groups,
roles, and OpenCRF's `opencrf:Languages`: `odm_translations`) and `MetaDataVersion` (events,
forms, item groups, items, code lists), shaped as REDCap writes them so that REDCap and
`opencrf.dictionary.odm` both read them back.
`opencrf.records.project_xml` adds the ClinicalData.

One item group per section (a field with a section header starts one), then the form status
group, as REDCap does; checkboxes are one item per option with `redcap:CheckboxChoices`.
Line breaks in attribute values are written as character references, so that they survive
the reader's attribute-value normalisation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape, quoteattr

from opencrf.dictionary.choices import parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign
from opencrf.dictionary.odm_roles import role_attributes
from opencrf.dictionary.odm_translations import languages_xml
from opencrf.projects.models import Project

ODM_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:redcap="https://projectredcap.org"'
    ' ODMVersion="1.3.1" FileType="Snapshot" Description={description}'
    ' SourceSystem="OpenCRF">\n'
)
FIELD_TYPES_OUT = {
    "notes": "textarea",
    "dropdown": "select",
}
VALIDATION_OUT = {"integer": "int", "number": "float"}
DATA_TYPES = {
    "integer": "integer",
    "number": "float",
    "date_ymd": "date",
    "date_mdy": "date",
    "date_dmy": "date",
    "datetime_ymd": "partialDatetime",
    "datetime_mdy": "partialDatetime",
    "datetime_dmy": "partialDatetime",
    "datetime_seconds_ymd": "datetime",
    "datetime_seconds_mdy": "datetime",
    "datetime_seconds_dmy": "datetime",
    "time": "partialTime",
}
STATUS_CHOICES = (("0", "Incomplete"), ("1", "Unverified"), ("2", "Complete"))


def design_parts(
    project: Project, design: ProjectDesign, extra_globals: Iterable[str] = ()
) -> Iterator[str]:
    """`GlobalVariables` and `MetaDataVersion` of the project, in pieces of text;
    `extra_globals` closes `GlobalVariables` (what apps above this one keep there: reports)."""
    yield from _global_variables(project, design, extra_globals)
    yield from _metadata(project, design)


def attr(value: object) -> str:
    return quoteattr(str(value), {"\r": "&#13;"})


def _text(value: str) -> str:
    return escape(value, {"\r": "&#13;"})


def _element(tag: str, value: str) -> str:
    return f"\t<{tag}>{_text(value)}</{tag}>\n"


def mdv_oid(project: Project) -> str:
    return f"Metadata.{project.pk}_{project.design_version}"


def _global_variables(
    project: Project, design: ProjectDesign, extra: Iterable[str]
) -> Iterator[str]:
    yield "<GlobalVariables>\n"
    for tag in ("StudyName", "ProtocolName"):
        yield _element(tag, project.title)
    yield _element("StudyDescription", project.title)
    settings = {
        "RecordAutonumberingEnabled": "1" if project.record_autonumbering else "0",
        "CustomRecordLabel": project.custom_record_label,
        "SurveysEnabled": "1" if project.surveys_enabled else "0",
        "RequireChangeReason": "1" if project.require_change_reason else "0",
        "Purpose": str(project.purpose),
        "PurposeOther": project.purpose_other,
        "ProjectNotes": project.notes,
    }
    for name, value in settings.items():
        yield _element(f"redcap:{name}", value)
    yield from _repeats(design)
    groups = list(project.groups.order_by("pk"))
    if groups:
        yield "\t<redcap:DataAccessGroupsGroup>\n"
        for group in groups:
            yield (
                f"\t\t<redcap:DataAccessGroups group_name={attr(group.name)}"
                f" unique_group_name={attr(group.unique_name)}/>\n"
            )
        yield "\t</redcap:DataAccessGroupsGroup>\n"
    yield from _roles(project, design)
    yield from languages_xml(project)
    yield from extra
    yield "</GlobalVariables>\n"


def _repeats(design: ProjectDesign) -> Iterator[str]:
    if not design.repeats:
        return
    events = {event.pk: event for event in design.events}
    event_order = {event.pk: i for i, event in enumerate(design.events)}
    form_order = {instrument.name: i for i, instrument in enumerate(design.instruments)}
    ordered = sorted(
        design.repeats.items(), key=lambda p: (event_order[p[0][0]], form_order.get(p[0][1], -1))
    )
    forms = [(events[e], f, label) for (e, f), label in ordered if f]
    whole = [(events[e], label) for (e, f), label in ordered if not f]
    yield "\t<redcap:RepeatingInstrumentsAndEvents>\n"
    if forms:
        yield "\t\t<redcap:RepeatingInstruments>\n"
        for event, form, label in forms:
            yield (
                f"\t\t\t<redcap:RepeatingInstrument redcap:UniqueEventName="
                f"{attr(event.unique_name)} redcap:RepeatInstrument={attr(form)}"
                f" redcap:CustomLabel={attr(label)}/>\n"
            )
        yield "\t\t</redcap:RepeatingInstruments>\n"
    for event, label in whole:
        yield (
            f"\t\t<redcap:RepeatingEvent redcap:UniqueEventName={attr(event.unique_name)}"
            f" redcap:CustomLabel={attr(label)}/>\n"
        )
    yield "\t</redcap:RepeatingInstrumentsAndEvents>\n"


def _roles(project: Project, design: ProjectDesign) -> Iterator[str]:
    roles = list(project.roles.order_by("pk"))
    if not roles:
        return
    forms = [instrument.name for instrument in design.instruments]
    yield "\t<redcap:UserRolesGroup>\n"
    for role in roles:
        attributes = role_attributes(role, forms)
        joined = " ".join(f"{name}={attr(value)}" for name, value in attributes.items())
        yield f"\t\t<redcap:UserRoles {joined}/>\n"
    yield "\t</redcap:UserRolesGroup>\n"


def _metadata(project: Project, design: ProjectDesign) -> Iterator[str]:
    yield (
        f"<MetaDataVersion OID={attr(mdv_oid(project))} Name={attr(project.title)}"
        f" redcap:RecordIdField={attr(design.record_id_field)}>\n"
    )
    if project.is_longitudinal:
        yield from _protocol(design)
    groups = _item_groups(design)
    for instrument in design.instruments:
        yield (
            f"\t<FormDef OID={attr('Form.' + instrument.name)} Name={attr(instrument.label)}"
            f' Repeating="No" redcap:FormName={attr(instrument.name)}>\n'
        )
        for group_oid, _name, _items in groups[instrument.name]:
            yield f'\t\t<ItemGroupRef ItemGroupOID={attr(group_oid)} Mandatory="No"/>\n'
        yield "\t</FormDef>\n"
    for instrument in design.instruments:
        for group_oid, name, items in groups[instrument.name]:
            yield f'\t<ItemGroupDef OID={attr(group_oid)} Name={attr(name)} Repeating="No">\n'
            for item_oid, variable in items:
                yield (
                    f'\t\t<ItemRef ItemOID={attr(item_oid)} Mandatory="No"'
                    f" redcap:Variable={attr(variable)}/>\n"
                )
            yield "\t</ItemGroupDef>\n"
    for row in design.rows:
        yield from _item_defs(row)
        if _is_last_of_form(design, row):
            yield from _status_item_def(row.form_name)
    for row in design.rows:
        yield from _code_lists(row)
        if _is_last_of_form(design, row):
            yield _code_list(f"{row.form_name}_complete", "text", STATUS_CHOICES)
    yield "</MetaDataVersion>\n"


def _protocol(design: ProjectDesign) -> Iterator[str]:
    yield "\t<Protocol>\n"
    for number, event in enumerate(design.events, start=1):
        yield (
            f"\t\t<StudyEventRef StudyEventOID={attr('Event.' + event.unique_name)}"
            f' OrderNumber="{number}" Mandatory="No"/>\n'
        )
    yield "\t</Protocol>\n"
    forms = [instrument.name for instrument in design.instruments]
    for event in design.events:
        repeating = "Yes" if (event.pk, "") in design.repeats else "No"
        arm = event.arm
        yield (
            f"\t<StudyEventDef OID={attr('Event.' + event.unique_name)}"
            f" Name={attr(f'{event.name} (Arm {arm.number}: {arm.name})')}"
            f' Type="Common" Repeating="{repeating}" redcap:EventName={attr(event.name)}'
            f" redcap:CustomEventLabel={attr(event.custom_label)}"
            f" redcap:UniqueEventName={attr(event.unique_name)}"
            f' redcap:ArmNum="{arm.number}" redcap:ArmName={attr(arm.name)}'
            f' redcap:DayOffset="{event.day_offset}" redcap:OffsetMin="{event.offset_min}"'
            f' redcap:OffsetMax="{event.offset_max}">\n'
        )
        designated = design.designated.get(event.pk, frozenset())
        here = [form for form in forms if form in designated]
        for number, form in enumerate(here, start=1):
            yield (
                f'\t\t<FormRef FormOID={attr("Form." + form)} OrderNumber="{number}"'
                f' Mandatory="No" redcap:FormName={attr(form)}/>\n'
            )
        yield "\t</StudyEventDef>\n"


def _item_groups(
    design: ProjectDesign,
) -> dict[str, list[tuple[str, str, list[tuple[str, str]]]]]:
    """Per form: (group OID, name, [(item OID, variable)]), a new group at each section."""
    groups: dict[str, list[tuple[str, str, list[tuple[str, str]]]]] = {
        instrument.name: [] for instrument in design.instruments
    }
    labels = {instrument.name: instrument.label for instrument in design.instruments}
    for row in design.rows:
        form = groups[row.form_name]
        if not form or row.section_header:
            name = row.section_header or labels[row.form_name]
            form.append((f"{row.form_name}.{row.field_name}", name, []))
        form[-1][2].extend((oid, row.field_name) for oid in _item_oids(row))
        if _is_last_of_form(design, row):
            status = f"{row.form_name}_complete"
            form.append((f"{row.form_name}.{status}", "Form Status", [(status, status)]))
    return groups


def _is_last_of_form(design: ProjectDesign, row: FieldRow) -> bool:
    rows = design.form_rows(row.form_name)
    return rows[-1] is row


def _item_oids(row: FieldRow) -> list[str]:
    if row.field_type == "checkbox":
        return [
            f"{row.field_name}___{choice.code}"
            for choice in parse_choices(row.select_choices_or_calculations)
        ]
    return [row.field_name]


def _item_defs(row: FieldRow) -> Iterator[str]:
    kind = FIELD_TYPES_OUT.get(row.field_type, row.field_type)
    validation = row.text_validation_type_or_show_slider_number
    attributes = {
        "redcap:Variable": row.field_name,
        "redcap:FieldType": kind,
        "redcap:TextValidationType": VALIDATION_OUT.get(validation, validation),
        "redcap:FieldNote": row.field_note,
        "redcap:SectionHeader": row.section_header,
        "redcap:Identifier": row.identifier,
        "redcap:BranchingLogic": row.branching_logic,
        "redcap:Calculation": row.select_choices_or_calculations
        if row.field_type == "calc"
        else "",
        "redcap:SliderLabels": row.select_choices_or_calculations
        if row.field_type == "slider"
        else "",
        "redcap:RequiredField": row.required_field,
        "redcap:CustomAlignment": row.custom_alignment,
        "redcap:QuestionNumber": row.question_number,
        "redcap:MatrixGroupName": row.matrix_group_name,
        "redcap:MatrixRanking": row.matrix_ranking,
        "redcap:FieldAnnotation": row.field_annotation,
    }
    extra = "".join(f" {name}={attr(value)}" for name, value in attributes.items() if value)
    data_type = _data_type(row)
    for oid in _item_oids(row):
        yield (
            f"\t<ItemDef OID={attr(oid)} Name={attr(oid)} DataType={attr(data_type)}"
            f' Length="999"{extra}>\n'
            f"\t\t<Question><TranslatedText>{_text(row.field_label)}</TranslatedText></Question>\n"
        )
        if row.field_type in ("dropdown", "radio", "sql", "checkbox", "yesno", "truefalse"):
            yield f"\t\t<CodeListRef CodeListOID={attr(oid + '.choices')}/>\n"
        for comparator, value in (("GE", row.text_validation_min), ("LE", row.text_validation_max)):
            if value:
                yield (
                    f'\t\t<RangeCheck Comparator="{comparator}" SoftHard="Soft">'
                    f"<CheckValue>{_text(value)}</CheckValue></RangeCheck>\n"
                )
        yield "\t</ItemDef>\n"


def _data_type(row: FieldRow) -> str:
    if row.field_type in ("checkbox", "yesno", "truefalse"):
        return "boolean"
    if row.field_type == "calc":
        return "float"
    if row.field_type == "slider":
        return "integer"
    if row.field_type == "text":
        return DATA_TYPES.get(row.text_validation_type_or_show_slider_number, "text")
    return "text"


def _status_item_def(form: str) -> Iterator[str]:
    status = f"{form}_complete"
    yield (
        f'\t<ItemDef OID={attr(status)} Name={attr(status)} DataType="text" Length="1"'
        f' redcap:Variable={attr(status)} redcap:FieldType="select"'
        ' redcap:SectionHeader="Form Status">\n'
        "\t\t<Question><TranslatedText>Complete?</TranslatedText></Question>\n"
        f"\t\t<CodeListRef CodeListOID={attr(status + '.choices')}/>\n"
        "\t</ItemDef>\n"
    )


def _code_lists(row: FieldRow) -> Iterator[str]:
    kind = row.field_type
    if kind in ("dropdown", "radio", "sql"):
        choices = [(c.code, c.label) for c in parse_choices(row.select_choices_or_calculations)]
        yield _code_list(row.field_name, "text", choices)
    elif kind == "yesno":
        yield _code_list(row.field_name, "boolean", (("1", "Yes"), ("0", "No")))
    elif kind == "truefalse":
        yield _code_list(row.field_name, "boolean", (("1", "True"), ("0", "False")))
    elif kind == "checkbox":
        for oid in _item_oids(row):
            yield _code_list(
                oid,
                "boolean",
                (("1", "Checked"), ("0", "Unchecked")),
                variable=row.field_name,
                checkbox_choices=row.select_choices_or_calculations,
            )


def _code_list(
    oid: str,
    data_type: str,
    choices: Iterable[tuple[str, str]],
    *,
    variable: str = "",
    checkbox_choices: str = "",
) -> str:
    extra = f" redcap:CheckboxChoices={attr(checkbox_choices)}" if checkbox_choices else ""
    items = "".join(
        f"\t\t<CodeListItem CodedValue={attr(code)}><Decode><TranslatedText>"
        f"{_text(label)}</TranslatedText></Decode></CodeListItem>\n"
        for code, label in choices
    )
    return (
        f"\t<CodeList OID={attr(oid + '.choices')} Name={attr(oid)} DataType={attr(data_type)}"
        f" redcap:Variable={attr(variable or oid)}{extra}>\n{items}\t</CodeList>\n"
    )
