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
from typing import IO, Protocol

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput
from opencrf.core.numbers import whole_number
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.models import Instrument, RevisionSource
from opencrf.dictionary.odm import (
    CLASSIC_EVENT,
    EVENT_COLUMN,
    GROUP_COLUMN,
    REPEAT_FORM_COLUMN,
    REPEAT_INSTANCE_COLUMN,
    FileItem,
    ProjectXml,
    project_xml_read,
)
from opencrf.dictionary.odm_roles import role_rights
from opencrf.dictionary.odm_write import ODM_HEAD, attr, design_parts, mdv_oid
from opencrf.dictionary.services import DictionaryInvalid, dictionary_apply
from opencrf.dictionary.translation_services import translations_import
from opencrf.files.models import StoredFile
from opencrf.files.selectors import files_in_project, open_stored_file
from opencrf.files.services import file_store
from opencrf.projects.models import (
    Arm,
    DataAccessGroup,
    Event,
    Project,
    Purpose,
    RepeatSetting,
    Role,
)
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
from opencrf.records.auditing import record_target
from opencrf.records.bulk import FormWrite, forms_write_many
from opencrf.records.errors import InvalidValues
from opencrf.records.export import (
    CHUNK,
    SURVEY_FIELDS_EXTENSION,
    SURVEY_IDENTIFIER_COLUMN,
    ColumnExtension,
    StoredRecord,
    column_extension,
    export_layout,
)
from opencrf.records.imports import ImportOptions, ImportRefused, UnknownFields, records_import
from opencrf.records.models import FormData, Record
from opencrf.records.selectors import records_visible_to
from opencrf.records.services import record_create

__all__ = [
    "ProjectXmlPart",
    "project_create_from_parsed",
    "project_create_from_xml",
    "project_xml_part_register",
    "project_xml_read",
    "project_xml_write",
]

MAX_PROBLEMS_SHOWN = 10
KEY_COLUMNS = (EVENT_COLUMN, REPEAT_FORM_COLUMN, REPEAT_INSTANCE_COLUMN)

_NOT_NAME = re.compile(r"[^a-z0-9_]")


# --- Parts kept by apps above this one ---------------------------------------------------------


class ProjectXmlPart(Protocol):
    """What an app above records keeps in Project XML's `GlobalVariables` (exports: saved
    reports). Records may not import those apps (DESIGN §3), so they register here, from
    their `AppConfig.ready`."""

    def write(self, project: Project, user: User) -> Iterable[str]:
        """Elements to close `GlobalVariables` with, as `user` may see them."""
        ...

    def create(self, context: AuditContext, project: Project, parsed: ProjectXml) -> None:
        """Create what the file holds, in the new project; InvalidInput refuses the file."""
        ...


_PARTS: list[ProjectXmlPart] = []


def project_xml_part_register(part: ProjectXmlPart) -> None:
    if part not in _PARTS:
        _PARTS.append(part)


def _parts_written(project: Project, user: User) -> Iterator[str]:
    for part in _PARTS:
        yield from part.write(project, user)


# --- Creating a project ------------------------------------------------------------------------


def project_create_from_xml(*, context: AuditContext, data: bytes, title: str = "") -> Project:
    """A new project built from a Project XML file, with its records and files.

    Everything happens in one transaction; InvalidInput (nothing created) for any fault.
    The acting user becomes the creator and a member with every right. Calculated fields
    are left blank, neither taken from the file nor computed, as REDCap leaves them. The
    registered parts (saved reports) come last, once the design, groups and records exist,
    then the languages and translations (OpenCRF's `opencrf:Languages`).
    """
    return project_create_from_parsed(context=context, parsed=project_xml_read(data), title=title)


def project_create_from_parsed(
    *, context: AuditContext, parsed: ProjectXml, title: str = "", reason: str = ""
) -> Project:
    """`project_create_from_xml` for a file already read (a copy trims it first); `reason`
    goes with every record's data in the audit trail."""
    if context.actor is None:
        raise InvalidInput(_("Only a user can create a project from Project XML."))
    stored_keys: list[str] = []
    try:
        with transaction.atomic():
            project = _create_design(context, parsed, title)
            _import_records(context, project, parsed, reason)
            _import_files(context, project, parsed, stored_keys)
            for part in _PARTS:
                part.create(context, project, parsed)
            # Last: survey texts are translatable once the surveys exist.
            translations_import(context=context, project=project, languages=parsed.languages)
    except BaseException:
        for key in stored_keys:  # storage is outside the transaction: remove what it kept
            default_storage.delete(key)
        raise
    return project


def _create_design(context: AuditContext, parsed: ProjectXml, title: str) -> Project:
    settings = parsed.settings
    _check_values(parsed, title.strip() or settings.title)
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
    _set_events_up(context, project, parsed)
    _create_groups(context, project, parsed)
    forms = list(parsed.instrument_labels)
    for role in parsed.roles:
        role_create(
            context=context, project=project, name=role.name, rights=role_rights(role, forms)
        )
    return project


def _check_values(parsed: ProjectXml, title: str) -> None:
    """Refuse what the services would store wrongly or the database refuse with an error."""
    settings = parsed.settings
    if settings.purpose not in Purpose.values:
        raise InvalidInput(
            _("Project XML: redcap:Purpose %(value)s is not one of REDCap's purposes (0 to 4).")
            % {"value": settings.purpose}
        )
    texts = [
        ("StudyName", title, Project, "title"),
        ("redcap:PurposeOther", settings.purpose_other, Project, "purpose_other"),
        ("redcap:CustomRecordLabel", settings.custom_record_label, Project, "custom_record_label"),
        *(("redcap:ArmName", name, Arm, "name") for _number, name in parsed.arms),
        *(("redcap:EventName", e.name, Event, "name") for e in parsed.events),
        *(("redcap:UniqueEventName", e.unique_name, Event, "unique_name") for e in parsed.events),
        *(
            ("redcap:CustomEventLabel", e.custom_label, Event, "custom_label")
            for e in parsed.events
        ),
        *(
            ("redcap:CustomLabel", r.custom_label, RepeatSetting, "custom_label")
            for r in parsed.repeats
        ),
        *(("group_name", g.name, DataAccessGroup, "name") for g in parsed.groups),
        *(
            ("unique_group_name", g.unique_name, DataAccessGroup, "unique_name")
            for g in parsed.groups
        ),
        *(("role_name", r.name, Role, "name") for r in parsed.roles),
        *(
            ("FormDef Name", label, Instrument, "label")
            for label in parsed.instrument_labels.values()
        ),
    ]
    for where, value, model, name in texts:
        limit = getattr(model._meta.get_field(name), "max_length", None)
        if limit is not None and len(value) > limit:
            raise InvalidInput(
                _("Project XML: %(where)s is longer than %(limit)d characters: %(value)s")
                % {"where": where, "limit": limit, "value": value[:50]}
            )


def _set_events_up(context: AuditContext, project: Project, parsed: ProjectXml) -> None:
    """The form–event mapping (longitudinal projects) and the repeat set-up."""
    events = {event.unique_name: event for event in project.events.all()}
    forms = list(parsed.instrument_labels)
    if parsed.settings.is_longitudinal:
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


def _create_groups(context: AuditContext, project: Project, parsed: ProjectXml) -> None:
    taken: set[str] = set()
    for group in parsed.groups:
        unique = group.unique_name or redcap_group_name(group.name)
        created = group_create(
            context=context,
            project=project,
            name=group.name,
            unique_name="" if unique in taken else unique,
        )
        taken.add(created.unique_name)


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


def _import_records(
    context: AuditContext, project: Project, parsed: ProjectXml, reason: str = ""
) -> None:
    if not parsed.rows:
        return
    _create_records(context, project, parsed)
    # Records exist by now; a row naming nothing but its record would make an empty form.
    keys = {parsed.record_id_field, GROUP_COLUMN, *KEY_COLUMNS}
    rows = [
        {k: v for k, v in row.items() if k != GROUP_COLUMN}
        for row in parsed.rows
        if set(row) - keys
    ]
    if not rows:
        return
    try:
        options = ImportOptions(keep_stored_values=True, reason=reason)
        records_import(context=context, project=project, rows=rows, options=options)
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
    """Every record in the arm of its first event and in its group, before its data (the
    import then puts a record with data in further arms in those arms too)."""
    events = {event.unique_name: event for event in project.events.select_related("arm")}
    groups = {group.unique_name: group for group in project.groups.all()}
    record_field = parsed.record_id_field
    arms: dict[str, Arm | None] = {}
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
        try:
            record_create(
                context=context, project=project, record_id=record, arm=arm, group=group_of[record]
            )
        except InvalidInput as error:
            raise InvalidInput(
                _("Project XML: record %(record)s: %(message)s")
                % {"record": record, "message": error.message}
            ) from None


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
        event = _event_of(item, events, design)
        try:
            upload = ContentFile(item.content, name=item.doc_name)
            target = record_target(records[item.record], event, row.form_name, item.instance or 1)
            stored = file_store(
                context=context, project=project, upload=upload, allow_empty=True, target=target
            )
            stored_keys.append(stored.key)
            _attach_file(context, project, design, records[item.record], event, row, item, stored)
        except InvalidInput as error:
            raise InvalidInput(
                _("Project XML: the file %(name)s of %(field)s in record %(record)s: %(message)s")
                % {
                    "name": item.doc_name,
                    "field": item.field_name,
                    "record": item.record,
                    "message": _problems_text(error),
                }
            ) from None


def _attach_file(
    context: AuditContext,
    project: Project,
    design: ProjectDesign,
    record: Record,
    event: Event,
    row: FieldRow,
    item: FileItem,
    stored: StoredFile,
) -> None:
    """The file's id into its field, calculations left as they are: REDCap computes none when
    it creates a project from its XML (see records/imports.py, `keep_stored_values`)."""
    instance = item.instance or 1
    if not design.has_form(project, event, row.form_name):
        raise InvalidInput(
            _("Form %(form)s is not used at event %(event)s.")
            % {"form": row.form_name, "event": event.name}
        )
    if instance > 1 and not design.repeats_form(event, row.form_name):
        raise InvalidInput(_("Form %(form)s does not repeat.") % {"form": row.form_name})
    write = FormWrite(record, event, row.form_name, instance, {item.field_name: str(stored.pk)})
    forms_write_many(
        context=context, project=project, design=design, writes=[write], calculate=False
    )


def _problems_text(error: InvalidInput) -> str:
    if isinstance(error, InvalidValues):
        return "; ".join(problem.message for problem in error.problems[:MAX_PROBLEMS_SHOWN])
    return error.message


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

OUTPUT_CHUNK = 64 * 1024
FILE_PIECE = 3 * 16 * 1024


def project_xml_write(
    project: Project,
    user: User,
    *,
    include_data: bool,
    include_files: bool,
    record_ids: Sequence[str] = (),
    survey_fields: frozenset[str] = frozenset(),
) -> Iterator[str]:
    """The project as REDCap-shaped Project XML, in chunks of text.

    With `include_data`, the records `user` may see (only `record_ids` when given), with the
    columns their export rights allow; with `include_files` too, the files of file fields
    as base64. `survey_fields` names which survey columns the data carry, as REDCap's
    ClinicalData does: `identifier` (`redcap_survey_identifier`, after the record id and
    group) and `timestamps` (`<form>_timestamp`, first in each survey form's data). The
    caller decides them from the exporter's rights (identifiers; dates).
    """
    member_rights(user, project)  # NotFound now, not halfway through the stream
    parts = _project_parts(project, user, include_data, include_files, record_ids, survey_fields)
    return _buffered(parts)


def _buffered(parts: Iterable[str], size: int = OUTPUT_CHUNK) -> Iterator[str]:
    """The parts joined into chunks of about `size` characters: fewer, larger writes."""
    pending: list[str] = []
    length = 0
    for part in parts:
        pending.append(part)
        length += len(part)
        if length >= size:
            yield "".join(pending)
            pending, length = [], 0
    if pending:
        yield "".join(pending)


def _project_parts(
    project: Project,
    user: User,
    include_data: bool,
    include_files: bool,
    record_ids: Sequence[str] = (),
    survey_fields: frozenset[str] = frozenset(),
) -> Iterator[str]:
    design = design_of(project)
    oid = f"Project.{project.pk}"
    yield ODM_HEAD.format(description=attr(project.title))
    yield f"<Study OID={attr(oid)}>\n"
    yield from design_parts(project, design, _parts_written(project, user))
    yield "</Study>\n"
    if include_data:
        version = attr(mdv_oid(project))
        yield f"<ClinicalData StudyOID={attr(oid)} MetaDataVersionOID={version}>\n"
        writer = _ClinicalWriter(project, design, user, include_files, survey_fields)
        yield from writer.subjects(record_ids)
        yield "</ClinicalData>\n"
    yield "</ODM>\n"


class _ClinicalWriter:
    """The ClinicalData of the records `user` may see, a chunk of records at a time."""

    def __init__(
        self,
        project: Project,
        design: ProjectDesign,
        user: User,
        include_files: bool,
        survey_fields: frozenset[str] = frozenset(),
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
        self.survey: ColumnExtension | None = None
        self.survey_names: list[str] = []
        if survey_fields:
            self.survey = column_extension(SURVEY_FIELDS_EXTENSION, project, design, layout)
        if self.survey is not None:
            added = self.survey.positions(layout.base_header)
            self.survey_names = [name for _at, name, _label in added]
        self.survey_identifier = "identifier" in survey_fields
        self.survey_timestamps = "timestamps" in survey_fields

    def _survey_cells(self, record: Record, form: FormData) -> dict[str, str]:
        """The survey columns' cells of the row this form instance is in."""
        if self.survey is None:
            return {}
        event = self.events[form.event_id]
        repeating = self.design.repeating_at(event)
        if "" in repeating:
            repeat_form, instance = "", form.instance
        elif form.form_name in repeating:
            repeat_form, instance = form.form_name, form.instance
        else:
            repeat_form, instance = "", None
        stored = StoredRecord(record.pk, record.record_id, frozenset(), None, None)
        cells = self.survey.cells(stored, event, repeat_form, instance)
        return dict(zip(self.survey_names, cells, strict=True))

    def subjects(self, record_ids: Sequence[str] = ()) -> Iterator[str]:
        records = records_visible_to(self.user, self.project).select_related("group")
        records = records.prefetch_related("arm_links")
        if record_ids:
            records = records.filter(record_id__in=record_ids)
        ordered = records.order_by("sort_key", "pk").iterator(CHUNK)
        while chunk := list(islice(ordered, CHUNK)):
            forms = FormData.objects.filter(record__in=[record.pk for record in chunk])
            by_record: dict[int, list[FormData]] = {}
            for form in forms:
                by_record.setdefault(form.record_id, []).append(form)
            self._load_files(by_record.values())
            if self.survey is not None:
                self.survey.load([record.pk for record in chunk])
            for record in chunk:
                yield from self._subject(record, by_record.get(record.pk, []))

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
            f"\t<SubjectData SubjectKey={attr(record.record_id)}"
            f" redcap:RecordIdField={attr(record_field)}>\n"
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
                    f"\t\t<StudyEventData StudyEventOID={attr('Event.' + event.unique_name)}"
                    f"{repeat} redcap:UniqueEventName={attr(event.unique_name)}>\n"
                )
                open_event = key
            yield from self._form(record, form, first)
            first = False
        if open_event is not None:
            yield "\t\t</StudyEventData>\n"
        if first:  # nothing saved yet (or nothing to show): the record id keeps the record
            yield from self._record_only(record)
        yield "\t</SubjectData>\n"

    def _record_only(self, record: Record) -> Iterator[str]:
        arm_ids = {link.arm_id for link in record.arm_links.all()}  # prefetched
        event = next(e for e in self.design.events if e.arm_id in arm_ids)
        form = self.design.instruments[0].name
        if self.project.is_longitudinal:
            yield (
                f"\t\t<StudyEventData StudyEventOID={attr('Event.' + event.unique_name)}"
                f" redcap:UniqueEventName={attr(event.unique_name)}>\n"
            )
        yield (
            f'\t\t\t<FormData FormOID={attr("Form." + form)} FormRepeatKey="1">\n'
            f"\t\t\t\t<ItemGroupData ItemGroupOID={attr(form + '.' + form)}"
            ' ItemGroupRepeatKey="1">\n'
        )
        yield _item(self.design.record_id_field, record.record_id)
        if record.group is not None:
            yield _item(GROUP_COLUMN, record.group.unique_name)
        yield "\t\t\t\t</ItemGroupData>\n\t\t\t</FormData>\n"
        if self.project.is_longitudinal:
            yield "\t\t</StudyEventData>\n"

    def _form(self, record: Record, form: FormData, first: bool) -> Iterator[str]:
        name = form.form_name
        yield f'\t\t\t<FormData FormOID={attr("Form." + name)} FormRepeatKey="{form.instance}">\n'
        yield (
            f"\t\t\t\t<ItemGroupData ItemGroupOID={attr(name + '.' + name)}"
            ' ItemGroupRepeatKey="1">\n'
        )
        record_field = self.design.record_id_field
        survey = self._survey_cells(record, form)
        if first:
            yield _item(record_field, record.record_id)
            if record.group is not None:
                yield _item(GROUP_COLUMN, record.group.unique_name)
            if self.survey_identifier and survey.get(SURVEY_IDENTIFIER_COLUMN):
                yield _item(SURVEY_IDENTIFIER_COLUMN, survey[SURVEY_IDENTIFIER_COLUMN])
        if self.survey_timestamps and survey.get(f"{name}_timestamp"):
            yield _item(f"{name}_timestamp", survey[f"{name}_timestamp"])
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
        file_id = whole_number(value)
        stored = self.files.get(file_id) if file_id is not None else None
        if stored is None:
            return
        yield (
            f"\t\t\t\t\t<ItemDataBase64Binary ItemOID={attr(name)}"
            f" redcap:DocName={attr(stored.original_name)}"
            f" redcap:MimeType={attr(stored.media_type)}><![CDATA["
        )
        with open_stored_file(stored) as handle:
            yield from _base64_pieces(handle)
        yield "]]></ItemDataBase64Binary>\n"


def _base64_pieces(handle: IO[bytes]) -> Iterator[str]:
    """The file as base64, a piece at a time; pieces of 3n bytes join up without padding."""
    rest = b""
    while piece := handle.read(FILE_PIECE):
        piece = rest + piece
        cut = len(piece) - len(piece) % 3
        rest = piece[cut:]
        if cut:
            yield base64.b64encode(piece[:cut]).decode("ascii")
    if rest:
        yield base64.b64encode(rest).decode("ascii")


def _item(oid: str, value: str) -> str:
    return f"\t\t\t\t\t<ItemData ItemOID={attr(oid)} Value={attr(value)}/>\n"
