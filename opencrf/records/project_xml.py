"""REDCap's Project XML in and out: a whole project (design, events, groups, roles, records,
files) created from one file, and a project written as one.

Reading the file is `opencrf.dictionary.odm`'s job; this module acts on what it read, through
the same services as the web and the API, in one transaction: a refusal anywhere leaves no
project, no record and no stored file behind. Writing streams the file in chunks, reading
records a chunk at a time, and shows only the records and columns the user may export.

See docs/subsystems/project-xml.md for what is kept, what is ignored, and REDCap's quirks.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.choices import parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.models import RevisionSource
from opencrf.dictionary.odm import (
    CLASSIC_EVENT,
    EVENT_COLUMN,
    GROUP_COLUMN,
    FileItem,
    ProjectXml,
    RoleSpec,
    project_xml_read,
)
from opencrf.dictionary.services import DictionaryInvalid, dictionary_apply
from opencrf.files.models import StoredFile
from opencrf.files.selectors import files_in_project, open_stored_file
from opencrf.files.services import file_store
from opencrf.projects.models import DataAccessGroup, Event, Project
from opencrf.projects.rights import Rights
from opencrf.projects.rights_services import role_create
from opencrf.projects.selectors import member_rights
from opencrf.projects.services import (
    EventSpec,
    arms_events_replace,
    event_instruments_set,
    group_create,
    project_create,
    project_update_settings,
    repeat_settings_set,
)
from opencrf.records.export import CHUNK, export_layout
from opencrf.records.imports import ImportRefused, UnknownFields, records_import
from opencrf.records.models import FormData, Record
from opencrf.records.selectors import records_visible_to
from opencrf.records.services import form_save, record_create

__all__ = ["project_create_from_xml", "project_xml_read", "project_xml_write"]

MAX_PROBLEMS_SHOWN = 10

# REDCap's legacy right names → OpenCRF's flags (spec §5; data quality is one right here).
ROLE_FLAGS = {
    "design": ("design",),
    "user_rights": ("user_rights",),
    "data_access_groups": ("data_access_groups",),
    "data_import": ("data_import_tool",),
    "api_export": ("api_export",),
    "api_import": ("api_import",),
    "record_create": ("record_create",),
    "record_rename": ("record_rename",),
    "record_delete": ("record_delete",),
    "lock_unlock": ("lock_record",),
    "logging": ("data_logging",),
    "data_quality": ("data_quality_design", "data_quality_execute"),
}
# `data_entry="[form,n]…"`: REDCap's codes for data-entry and export rights.
FORM_RIGHT_CODES = {"0": "none", "1": "edit", "2": "read", "3": "survey_edit"}
EXPORT_RIGHT_CODES = {"0": "none", "1": "full", "2": "deidentified", "3": "remove_identifiers"}
_NOT_NAME = re.compile(r"[^a-z0-9_]")
_PAIR = re.compile(r"\[([^,\]]+),([^\]]*)\]")


# --- Creating a project ------------------------------------------------------------------------


def project_create_from_xml(*, context: AuditContext, data: bytes, title: str = "") -> Project:
    """A new project built from a Project XML file, with its records and files.

    Everything happens in one transaction; InvalidInput (nothing created) for any fault.
    The acting user becomes the creator and a member with every right. Calculated values
    in the file are not trusted: they are computed again as the records are saved.
    """
    if context.actor is None:
        raise InvalidInput(_("Only a user can create a project from Project XML."))
    parsed = project_xml_read(data)
    stored_keys: list[str] = []
    try:
        with transaction.atomic():
            project = _create_design(context, parsed, title)
            _import_records(context, project, parsed)
            _import_files(context, project, parsed, stored_keys)
    except BaseException:
        for key in stored_keys:  # storage is outside the transaction: remove what it kept
            default_storage.delete(key)
        raise
    return project


def _create_design(context: AuditContext, parsed: ProjectXml, title: str) -> Project:
    settings = parsed.settings
    project = project_create(
        context=context,
        title=title.strip() or settings.title,
        purpose=settings.purpose,
        is_longitudinal=settings.is_longitudinal,
        notes=settings.notes,
        purpose_other=settings.purpose_other,
        surveys_enabled=settings.surveys_enabled,
    )
    project_update_settings(
        context=context,
        project=project,
        values={
            "record_autonumbering": settings.record_autonumbering,
            "custom_record_label": settings.custom_record_label,
            "require_change_reason": settings.require_change_reason,
        },
    )
    if settings.is_longitudinal:
        arms_events_replace(
            context=context, project=project, arms=parsed.arms, events=_event_specs(parsed)
        )
    _apply_dictionary(context, project, parsed)
    events = {event.unique_name: event for event in project.events.all()}
    forms = list(parsed.instrument_labels)
    if settings.is_longitudinal:
        event_instruments_set(
            context=context,
            project=project,
            designations=[(events[e.unique_name].pk, f) for e in parsed.events for f in e.forms],
            known_forms=forms,
        )
    if parsed.repeats:
        repeat_settings_set(
            context=context,
            project=project,
            settings=_repeat_settings(parsed, events),
            known_forms=forms,
        )
    taken: set[str] = set()
    for group in parsed.groups:
        unique = group.unique_name or redcap_group_name(group.name)
        unique = "" if unique in taken else unique
        created = group_create(
            context=context, project=project, name=group.name, unique_name=unique
        )
        taken.add(created.unique_name)
    for role in parsed.roles:
        role_create(
            context=context, project=project, name=role.name, rights=role_rights(role, forms)
        )
    return project


def redcap_group_name(name: str) -> str:
    """The unique name REDCap gives a group: `Test DAG` → `test_dag`, `dag-a` → `daga`.

    REDCap's files declare groups by display name only, while their data use this name; ""
    when nothing is left (a name in Japanese, say): OpenCRF then makes one up.
    """
    return _NOT_NAME.sub("", name.strip().lower().replace(" ", "_"))[:100]


def _event_specs(parsed: ProjectXml) -> list[EventSpec]:
    return [
        EventSpec(
            name=event.name,
            arm_number=event.arm_number,
            unique_name=event.unique_name,
            day_offset=event.day_offset,
            offset_min=event.offset_min,
            offset_max=event.offset_max,
            custom_label=event.custom_label,
        )
        for event in parsed.events
    ]


def _apply_dictionary(context: AuditContext, project: Project, parsed: ProjectXml) -> None:
    try:
        dictionary_apply(
            context=context,
            project=project,
            rows=parsed.fields,
            source=RevisionSource.XML,
            note=_("Created from Project XML"),
            instrument_labels=parsed.instrument_labels,
        )
    except DictionaryInvalid as error:
        details = "; ".join(problem.message for problem in error.problems[:MAX_PROBLEMS_SHOWN])
        raise InvalidInput(
            _("Project XML: the data dictionary has %(count)d problem(s): %(details)s")
            % {"count": len(error.problems), "details": details}
        ) from None


def _repeat_settings(parsed: ProjectXml, events: Mapping[str, Event]) -> dict[tuple[int, str], str]:
    classic = next(iter(events.values()))
    settings: dict[tuple[int, str], str] = {}
    for repeat in parsed.repeats:
        event = events.get(repeat.event)
        if event is None and not parsed.settings.is_longitudinal:
            event = classic if repeat.event == CLASSIC_EVENT else None
        if event is None:
            raise InvalidInput(
                _("Project XML: the repeat set-up names the unknown event %(event)s.")
                % {"event": repeat.event}
            )
        settings[(event.pk, repeat.form)] = repeat.custom_label
    return settings


def role_rights(role: RoleSpec, forms: Sequence[str]) -> dict[str, Any]:
    """A role's REDCap rights attributes as OpenCRF rights (legacy names mapped, spec §5)."""
    given = role.rights
    rights: dict[str, Any] = {
        flag: any(given.get(name, "0").strip() not in ("", "0") for name in names)
        for flag, names in ROLE_FLAGS.items()
    }
    known = set(forms)
    rights["form_rights"] = _instrument_rights(given.get("data_entry", ""), FORM_RIGHT_CODES, known)
    exports = _instrument_rights(
        given.get("data_export_instruments", ""), EXPORT_RIGHT_CODES, known
    )
    legacy = given.get("data_export_tool", "").strip()
    if not exports and legacy in EXPORT_RIGHT_CODES:
        exports = dict.fromkeys(forms, EXPORT_RIGHT_CODES[legacy])
    rights["export_rights"] = exports
    return rights


def _instrument_rights(text: str, codes: Mapping[str, str], known: set[str]) -> dict[str, str]:
    return {
        form.strip(): codes[code.strip()]
        for form, code in _PAIR.findall(text)
        if form.strip() in known and code.strip() in codes
    }


def _import_records(context: AuditContext, project: Project, parsed: ProjectXml) -> None:
    if not parsed.rows:
        return
    _create_records(context, project, parsed)
    rows = [{k: v for k, v in row.items() if k != GROUP_COLUMN} for row in parsed.rows]
    try:
        records_import(context=context, project=project, rows=rows)
    except ImportRefused as refused:
        details = "; ".join(
            f"{p.record} {p.field} '{p.value}': {p.message}"
            for p in refused.problems[:MAX_PROBLEMS_SHOWN]
        )
        raise InvalidInput(
            _("Project XML: %(count)d value(s) were refused: %(details)s")
            % {"count": len(refused.problems), "details": details}
        ) from None
    except UnknownFields as unknown:
        raise InvalidInput(
            _("Project XML: the data name unknown fields: %(names)s")
            % {"names": ", ".join(unknown.names)}
        ) from None


def _create_records(context: AuditContext, project: Project, parsed: ProjectXml) -> None:
    """Every record in the arm of its first event and in its group, before its data.

    `records_import` puts new records in arm 1 and would refuse a second arm's events.
    """
    events = {event.unique_name: event for event in project.events.select_related("arm")}
    groups = {group.unique_name: group for group in project.groups.all()}
    record_field = parsed.record_id_field
    arms: dict[str, Any] = {}
    group_of: dict[str, DataAccessGroup | None] = {}
    for row in parsed.rows:
        record = row[record_field]
        event = events.get(row.get(EVENT_COLUMN, ""))
        if record not in arms or (arms[record] is None and event is not None):
            arms[record] = event.arm if event is not None else None
        name = row.get(GROUP_COLUMN, "").strip()
        if name and name not in groups:
            raise InvalidInput(
                _("Project XML: record %(record)s names the unknown data access group %(group)s.")
                % {"record": record, "group": name}
            )
        if name or record not in group_of:
            group_of[record] = groups.get(name) if name else group_of.get(record)
    for record, arm in arms.items():
        record_create(
            context=context, project=project, record_id=record, arm=arm, group=group_of[record]
        )


def _import_files(
    context: AuditContext, project: Project, parsed: ProjectXml, stored_keys: list[str]
) -> None:
    if not parsed.files:
        return
    design = design_of(project)
    columns = {row.field_name: row for row in design.rows}
    records = {record.record_id: record for record in project.records.all()}
    events = {event.unique_name: event for event in design.events}
    for item in parsed.files:
        row = columns.get(item.field_name)
        if row is None or row.field_type != "file":
            raise InvalidInput(
                _("Project XML: record %(record)s has a file for %(field)s, not a file field.")
                % {"record": item.record, "field": item.field_name}
            )
        upload = ContentFile(item.content, name=item.doc_name)
        stored = file_store(context=context, project=project, upload=upload, allow_empty=True)
        stored_keys.append(stored.key)
        form_save(
            context=context,
            record=records[item.record],
            event=_event_of(item, events, design),
            form_name=row.form_name,
            instance=item.instance or 1,
            values={item.field_name: str(stored.pk)},
            base_version=None,
        )


def _event_of(item: FileItem, events: Mapping[str, Event], design: ProjectDesign) -> Event:
    if not item.event:
        return design.events[0]
    event = events.get(item.event)
    if event is None:
        raise InvalidInput(
            _("Project XML: record %(record)s has a file at the unknown event %(event)s.")
            % {"record": item.record, "event": item.event}
        )
    return event


# --- Writing a project -------------------------------------------------------------------------

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


def project_xml_write(
    project: Project, user: User, *, include_data: bool, include_files: bool
) -> Iterator[str]:
    """The project as REDCap-shaped Project XML, in chunks of text.

    With `include_data`, the records `user` may see, with the columns their export rights
    allow; with `include_files` too, the files of file fields as base64.
    """
    design = design_of(project)
    oid = f"Project.{project.pk}"
    yield ODM_HEAD.format(description=_attr(project.title))
    yield f"<Study OID={_attr(oid)}>\n"
    yield from _global_variables(project, design)
    yield from _metadata(project, design)
    yield "</Study>\n"
    if include_data:
        version = _attr(_mdv_oid(project))
        yield f"<ClinicalData StudyOID={_attr(oid)} MetaDataVersionOID={version}>\n"
        yield from _ClinicalWriter(project, design, user, include_files).subjects()
        yield "</ClinicalData>\n"
    yield "</ODM>\n"


def _attr(value: object) -> str:
    return quoteattr(str(value), {"\r": "&#13;"})


def _text(value: str) -> str:
    return escape(value, {"\r": "&#13;"})


def _element(tag: str, value: str) -> str:
    return f"\t<{tag}>{_text(value)}</{tag}>\n"


def _mdv_oid(project: Project) -> str:
    return f"Metadata.{project.pk}_{project.design_version}"


def _global_variables(project: Project, design: ProjectDesign) -> Iterator[str]:
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
                f"\t\t<redcap:DataAccessGroups group_name={_attr(group.name)}"
                f" unique_group_name={_attr(group.unique_name)}/>\n"
            )
        yield "\t</redcap:DataAccessGroupsGroup>\n"
    yield from _roles(project, design)
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
                f"{_attr(event.unique_name)} redcap:RepeatInstrument={_attr(form)}"
                f" redcap:CustomLabel={_attr(label)}/>\n"
            )
        yield "\t\t</redcap:RepeatingInstruments>\n"
    for event, label in whole:
        yield (
            f"\t\t<redcap:RepeatingEvent redcap:UniqueEventName={_attr(event.unique_name)}"
            f" redcap:CustomLabel={_attr(label)}/>\n"
        )
    yield "\t</redcap:RepeatingInstrumentsAndEvents>\n"


def _roles(project: Project, design: ProjectDesign) -> Iterator[str]:
    roles = list(project.roles.order_by("pk"))
    if not roles:
        return
    forms = [instrument.name for instrument in design.instruments]
    form_codes = {v: k for k, v in FORM_RIGHT_CODES.items()}
    export_codes = {v: k for k, v in EXPORT_RIGHT_CODES.items()}
    yield "\t<redcap:UserRolesGroup>\n"
    for role in roles:
        attributes = {"role_name": role.name, "unique_role_name": role.unique_name}
        for flag, names in ROLE_FLAGS.items():
            for name in names:
                attributes[name] = "1" if getattr(role, flag) else "0"
        rights = Rights.of(role, None)
        attributes["data_entry"] = "".join(
            f"[{form},{form_codes[rights.form(form)]}]" for form in forms
        )
        attributes["data_export_instruments"] = "".join(
            f"[{form},{export_codes[rights.export(form)]}]" for form in forms
        )
        joined = " ".join(f"{name}={_attr(value)}" for name, value in attributes.items())
        yield f"\t\t<redcap:UserRoles {joined}/>\n"
    yield "\t</redcap:UserRolesGroup>\n"


def _metadata(project: Project, design: ProjectDesign) -> Iterator[str]:
    yield (
        f"<MetaDataVersion OID={_attr(_mdv_oid(project))} Name={_attr(project.title)}"
        f" redcap:RecordIdField={_attr(design.record_id_field)}>\n"
    )
    if project.is_longitudinal:
        yield from _protocol(design)
    groups = _item_groups(design)
    for instrument in design.instruments:
        yield (
            f"\t<FormDef OID={_attr('Form.' + instrument.name)} Name={_attr(instrument.label)}"
            f' Repeating="No" redcap:FormName={_attr(instrument.name)}>\n'
        )
        for group_oid, _name, _items in groups[instrument.name]:
            yield f'\t\t<ItemGroupRef ItemGroupOID={_attr(group_oid)} Mandatory="No"/>\n'
        yield "\t</FormDef>\n"
    for instrument in design.instruments:
        for group_oid, name, items in groups[instrument.name]:
            yield f'\t<ItemGroupDef OID={_attr(group_oid)} Name={_attr(name)} Repeating="No">\n'
            for item_oid, variable in items:
                yield (
                    f'\t\t<ItemRef ItemOID={_attr(item_oid)} Mandatory="No"'
                    f" redcap:Variable={_attr(variable)}/>\n"
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
            f"\t\t<StudyEventRef StudyEventOID={_attr('Event.' + event.unique_name)}"
            f' OrderNumber="{number}" Mandatory="No"/>\n'
        )
    yield "\t</Protocol>\n"
    forms = [instrument.name for instrument in design.instruments]
    for event in design.events:
        repeating = "Yes" if (event.pk, "") in design.repeats else "No"
        arm = event.arm
        yield (
            f"\t<StudyEventDef OID={_attr('Event.' + event.unique_name)}"
            f" Name={_attr(f'{event.name} (Arm {arm.number}: {arm.name})')}"
            f' Type="Common" Repeating="{repeating}" redcap:EventName={_attr(event.name)}'
            f" redcap:CustomEventLabel={_attr(event.custom_label)}"
            f" redcap:UniqueEventName={_attr(event.unique_name)}"
            f' redcap:ArmNum="{arm.number}" redcap:ArmName={_attr(arm.name)}'
            f' redcap:DayOffset="{event.day_offset}" redcap:OffsetMin="{event.offset_min}"'
            f' redcap:OffsetMax="{event.offset_max}">\n'
        )
        designated = design.designated.get(event.pk, frozenset())
        here = [form for form in forms if form in designated]
        for number, form in enumerate(here, start=1):
            yield (
                f'\t\t<FormRef FormOID={_attr("Form." + form)} OrderNumber="{number}"'
                f' Mandatory="No" redcap:FormName={_attr(form)}/>\n'
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
    extra = "".join(f" {name}={_attr(value)}" for name, value in attributes.items() if value)
    data_type = _data_type(row)
    for oid in _item_oids(row):
        yield (
            f"\t<ItemDef OID={_attr(oid)} Name={_attr(oid)} DataType={_attr(data_type)}"
            f' Length="999"{extra}>\n'
            f"\t\t<Question><TranslatedText>{_text(row.field_label)}</TranslatedText></Question>\n"
        )
        if row.field_type in ("dropdown", "radio", "sql", "checkbox", "yesno", "truefalse"):
            yield f"\t\t<CodeListRef CodeListOID={_attr(oid + '.choices')}/>\n"
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
        f'\t<ItemDef OID={_attr(status)} Name={_attr(status)} DataType="text" Length="1"'
        f' redcap:Variable={_attr(status)} redcap:FieldType="select"'
        ' redcap:SectionHeader="Form Status">\n'
        "\t\t<Question><TranslatedText>Complete?</TranslatedText></Question>\n"
        f"\t\t<CodeListRef CodeListOID={_attr(status + '.choices')}/>\n"
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
    extra = f" redcap:CheckboxChoices={_attr(checkbox_choices)}" if checkbox_choices else ""
    items = "".join(
        f"\t\t<CodeListItem CodedValue={_attr(code)}><Decode><TranslatedText>"
        f"{_text(label)}</TranslatedText></Decode></CodeListItem>\n"
        for code, label in choices
    )
    return (
        f"\t<CodeList OID={_attr(oid + '.choices')} Name={_attr(oid)} DataType={_attr(data_type)}"
        f" redcap:Variable={_attr(variable or oid)}{extra}>\n{items}\t</CodeList>\n"
    )


class _ClinicalWriter:
    """The ClinicalData of the records `user` may see, a chunk of records at a time."""

    def __init__(
        self, project: Project, design: ProjectDesign, user: User, include_files: bool
    ) -> None:
        self.project = project
        self.design = design
        self.user = user
        self.include_files = include_files
        rights = member_rights(user, project)
        layout = export_layout(project, design, export_right=rights.export)
        self.allowed = {column.name for column in layout.data}
        self.columns = {
            form.name: [c for c in layout.data if c.form == form.name and not c.is_status]
            for form in design.instruments
        }
        self.status_allowed = {c.form for c in layout.data if c.is_status}
        self.events = {event.pk: event for event in design.events}
        self.event_order = {event.pk: i for i, event in enumerate(design.events)}
        self.form_order = {instrument.name: i for i, instrument in enumerate(design.instruments)}
        self.files: dict[int, StoredFile] = {}

    def subjects(self) -> Iterator[str]:
        records = records_visible_to(self.user, self.project).select_related("group")
        ordered = records.order_by("sort_key", "pk").iterator(CHUNK)
        while chunk := list(islice(ordered, CHUNK)):
            forms = FormData.objects.filter(record__in=[record.pk for record in chunk])
            by_record: dict[int, list[FormData]] = {}
            for form in forms:
                by_record.setdefault(form.record_id, []).append(form)
            self._load_files(by_record.values())
            for record in chunk:
                yield "".join(self._subject(record, by_record.get(record.pk, [])))

    def _load_files(self, groups: Iterable[list[FormData]]) -> None:
        if not self.include_files:
            return
        names = [
            c.name
            for cs in self.columns.values()
            for c in cs
            if c.row and c.row.field_type == "file"
        ]
        ids = {
            int(value)
            for forms in groups
            for form in forms
            for name in names
            if (value := form.values.get(name, "")).isascii() and value.isdigit()
        }
        self.files = files_in_project(self.project, ids)

    def _subject(self, record: Record, forms: list[FormData]) -> Iterator[str]:
        record_field = self.design.record_id_field
        yield (
            f"\t<SubjectData SubjectKey={_attr(record.record_id)}"
            f" redcap:RecordIdField={_attr(record_field)}>\n"
        )
        ordered = sorted(
            forms,
            key=lambda f: (
                self.event_order[f.event_id],
                f.instance,
                self.form_order.get(f.form_name, 0),
            ),
        )
        longitudinal = self.project.is_longitudinal
        open_event: tuple[int, int] | None = None
        first = True
        for form in ordered:
            if form.form_name not in self.status_allowed and not self.columns.get(form.form_name):
                continue
            event = self.events[form.event_id]
            whole = (event.pk, "") in self.design.repeats
            key = (event.pk, form.instance if whole else 1)
            if longitudinal and key != open_event:
                if open_event is not None:
                    yield "\t\t</StudyEventData>\n"
                repeat = f' StudyEventRepeatKey="{key[1]}"'
                yield (
                    f"\t\t<StudyEventData StudyEventOID={_attr('Event.' + event.unique_name)}"
                    f"{repeat} redcap:UniqueEventName={_attr(event.unique_name)}>\n"
                )
                open_event = key
            yield from self._form(record, form, first)
            first = False
        if open_event is not None:
            yield "\t\t</StudyEventData>\n"
        yield "\t</SubjectData>\n"

    def _form(self, record: Record, form: FormData, first: bool) -> Iterator[str]:
        name = form.form_name
        yield f'\t\t\t<FormData FormOID={_attr("Form." + name)} FormRepeatKey="{form.instance}">\n'
        yield (
            f"\t\t\t\t<ItemGroupData ItemGroupOID={_attr(name + '.' + name)}"
            ' ItemGroupRepeatKey="1">\n'
        )
        record_field = self.design.record_id_field
        if first:
            yield _item(record_field, record.record_id)
            if record.group is not None:
                yield _item(GROUP_COLUMN, record.group.unique_name)
        for column in self.columns.get(name, []):
            if column.name == record_field or column.row is None:
                continue
            value = form.values.get(column.name, "")
            if column.is_checkbox:
                yield _item(column.name, "1" if value == "1" else "0")
            elif column.row.field_type == "file":
                yield from self._file(column.name, value)
            elif value != "":
                yield _item(column.name, value)
        if name in self.status_allowed:
            yield _item(f"{name}_complete", str(form.status))
        yield "\t\t\t\t</ItemGroupData>\n\t\t\t</FormData>\n"

    def _file(self, name: str, value: str) -> Iterator[str]:
        stored = self.files.get(int(value)) if value.isdigit() else None
        if stored is None:
            return
        with open_stored_file(stored) as handle:
            content = base64.b64encode(handle.read()).decode("ascii")
        yield (
            f"\t\t\t\t\t<ItemDataBase64Binary ItemOID={_attr(name)}"
            f" redcap:DocName={_attr(stored.original_name)}"
            f" redcap:MimeType={_attr(stored.media_type)}><![CDATA[{content}]]>"
            "</ItemDataBase64Binary>\n"
        )


def _item(oid: str, value: str) -> str:
    return f"\t\t\t\t\t<ItemData ItemOID={_attr(oid)} Value={_attr(value)}/>\n"
