"""Read REDCap's Project XML (CDISC ODM 1.3.1 with `redcap:` extensions) into plain values.

This module only reads: it turns the bytes into a `ProjectXml` of dataclasses, strings and
flat rows, and touches no database. `opencrf.records.project_xml` builds a project from it.

Map of the file (spec §5) and where each part lands:

- `GlobalVariables` → `ProjectSettings`, `RepeatSpec`s, `GroupSpec`s, `RoleSpec`s, and each
  saved report's attributes (`redcap:Reports`, which `opencrf.exports.report_xml` acts on),
  and each survey's and survey queue entry's (`redcap:Surveys`, `redcap:SurveysQueue`, with
  ClinicalData's `<form>_timestamp` values: `opencrf.surveys.project_xml` acts on them);
  e-consent, PDF snapshots and unknown settings are ignored. OpenCRF's own extension
  `opencrf:Languages` gives the multi-language forms (`LanguageSpec`s; `odm_translations`).
- `MetaDataVersion` → the record id field, `EventSpec`s (`StudyEventDef`, with their
  `FormRef`s as the form–event mapping) and the data dictionary: `FormDef` → `ItemGroupRef` →
  `ItemGroupDef` → `ItemRef` → `ItemDef` gives the fields in order.
- `ClinicalData` → flat rows keyed by export column, and `FileItem`s for base64 files.

REDCap's files are not strictly consistent, and the reader accepts what real exports hold:

- Classic projects have no `StudyEventDef` and no `StudyEventData`, yet their repeat set-up
  names the implicit event `event_1_arm_1`.
- A checkbox is one `ItemDef` per option (`field___code`), grouped by `redcap:Variable`; its
  choices come from the option lists' `redcap:CheckboxChoices`.
- Validation names `int` and `float` mean `integer` and `number`; `RangeCheck` GE / LE give
  the validation minimum and maximum.
- A label with formatting has a plain `TranslatedText` (tags stripped, sometimes mangled) and
  the label as REDCap keeps it in `redcap:FormattedTranslatedText`; the second one is taken.
- Data are keyed by `ItemOID`: `ItemGroupOID` is ignored, an item filed under another
  form's `FormData` goes to its own form, and several `StudyEventData` blocks of one event
  merge.

Every fault raises `InvalidInput` naming the element or OID; DTDs and entities are refused
before anything is expanded (billion laughs, external entities), and so is nesting deeper
than any ODM file needs.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from django.utils.translation import gettext as _

from opencrf.core.errors import InvalidInput
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.odm_translations import LanguageSpec, languages_read

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
REDCAP_NS = "https://projectredcap.org"
CLASSIC_EVENT = "event_1_arm_1"
EVENT_COLUMN = "redcap_event_name"
REPEAT_FORM_COLUMN = "redcap_repeat_instrument"
REPEAT_INSTANCE_COLUMN = "redcap_repeat_instance"
GROUP_COLUMN = "redcap_data_access_group"
SURVEY_IDENTIFIER = "redcap_survey_identifier"
# ODM needs eight levels (ODM … ItemData, Question/TranslatedText); anything far deeper is
# an attack on the parser or on whoever walks the tree.
MAX_DEPTH = 64

FIELD_TYPES = {
    "text": "text",
    "textarea": "notes",
    "select": "dropdown",
    "radio": "radio",
    "checkbox": "checkbox",
    "yesno": "yesno",
    "truefalse": "truefalse",
    "calc": "calc",
    "file": "file",
    "slider": "slider",
    "descriptive": "descriptive",
    "sql": "sql",
}
VALIDATION_NAMES = {"int": "integer", "float": "number"}
_CHOICE_TYPES = frozenset({"dropdown", "radio", "sql"})


def odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def rc(name: str) -> str:
    return f"{{{REDCAP_NS}}}{name}"


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    title: str
    purpose: int = 2
    purpose_other: str = ""
    notes: str = ""
    record_autonumbering: bool = False
    surveys_enabled: bool = False
    custom_record_label: str = ""
    require_change_reason: bool = False
    is_longitudinal: bool = False


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One `StudyEventDef`: an event of an arm, with the forms designated for it, in order."""

    unique_name: str
    name: str
    arm_number: int
    arm_name: str
    day_offset: int = 0
    offset_min: int = 0
    offset_max: int = 0
    custom_label: str = ""
    forms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RepeatSpec:
    """A repeating instrument of an event, or (form "") the whole event repeating."""

    event: str
    form: str
    custom_label: str = ""


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A data access group. REDCap's files give only the display name; OpenCRF's add the
    unique name (`unique_group_name`), which REDCap ignores."""

    name: str
    unique_name: str = ""


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """A user role with REDCap's rights attributes, kept as written (legacy names and all)."""

    name: str
    unique_name: str
    rights: dict[str, str]


@dataclass(frozen=True, slots=True)
class FileItem:
    """A file held by a file field of one form instance (`ItemDataBase64Binary`)."""

    record: str
    event: str
    repeat_instrument: str
    instance: int | None
    field_name: str
    doc_name: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class SurveyTime:
    """A `<form>_timestamp` of ClinicalData: when a survey response was completed, or
    `[not completed]`; `opencrf.surveys.project_xml` makes the responses from them."""

    record: str
    event: str  # unique event name; "" in a classic project
    form: str
    instance: int
    value: str


@dataclass
class ProjectXml:
    settings: ProjectSettings
    record_id_field: str
    fields: list[FieldRow]
    instrument_labels: dict[str, str]
    events: list[EventSpec] = field(default_factory=list)
    repeats: list[RepeatSpec] = field(default_factory=list)
    groups: list[GroupSpec] = field(default_factory=list)
    roles: list[RoleSpec] = field(default_factory=list)
    reports: list[dict[str, str]] = field(default_factory=list)
    surveys: list[dict[str, str]] = field(default_factory=list)  # `redcap:Surveys` attributes
    survey_queue: list[dict[str, str]] = field(default_factory=list)  # `redcap:SurveysQueue`
    survey_times: list[SurveyTime] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    files: list[FileItem] = field(default_factory=list)
    languages: list[LanguageSpec] = field(default_factory=list)  # `opencrf:Languages`

    @property
    def arms(self) -> list[tuple[int, str]]:
        """(number, name) of every arm, in number order."""
        return sorted({(event.arm_number, event.arm_name) for event in self.events})


def project_xml_read(data: bytes) -> ProjectXml:
    """Everything a Project XML file says that OpenCRF keeps; raises InvalidInput."""
    root = _parse(data)
    study = _child(root, "Study", "ODM")
    metadata = _child(study, "MetaDataVersion", "Study")
    record_field = metadata.get(rc("RecordIdField"), "").strip()
    fields, labels = _dictionary(metadata)
    if not fields:
        raise InvalidInput(_("Project XML: MetaDataVersion defines no fields."))
    record_field = record_field or fields[0].field_name
    events = _events(metadata)
    globals_ = study.find(odm("GlobalVariables"))
    settings = _settings(globals_, is_longitudinal=bool(events))
    result = ProjectXml(
        settings=settings,
        record_id_field=record_field,
        fields=fields,
        instrument_labels=labels,
        events=events,
    )
    if globals_ is not None:
        result.repeats = _repeats(globals_)
        result.groups = [
            GroupSpec(
                name=element.get("group_name", "").strip(),
                unique_name=element.get("unique_group_name", "").strip(),
            )
            for element in globals_.iter(rc("DataAccessGroups"))
        ]
        result.roles = [_role(element) for element in globals_.iter(rc("UserRoles"))]
        result.reports = [dict(element.attrib) for element in globals_.iter(rc("Reports"))]
        result.surveys = [dict(element.attrib) for element in globals_.iter(rc("Surveys"))]
        result.survey_queue = [dict(e.attrib) for e in globals_.iter(rc("SurveysQueue"))]
        result.languages = languages_read(globals_)
    for clinical in root.iter(odm("ClinicalData")):
        _ClinicalReader(result).read(clinical)
    return result


# --- Parsing ---------------------------------------------------------------------------------


def keep_attribute_line_breaks(data: bytes) -> bytes:
    """The file with line breaks inside attribute values written as character references.

    REDCap writes a value's line breaks into `Value="…"` as they are, and an XML parser turns
    them into spaces (attribute-value normalisation); as references they survive. A value
    in double quotes cannot hold `"` or `<`, so a match never leaves it; where the pattern
    matches text between elements instead, a reference there means the same character.
    """
    return _ATTRIBUTE.sub(_references, data)


_ATTRIBUTE = re.compile(rb'(\s[\w:.-]+\s*=\s*")([^"<]*)(")')


def _references(match: re.Match[bytes]) -> bytes:
    value = match.group(2)
    if b"\n" not in value and b"\r" not in value:
        return match.group(0)
    # XML reads \r\n and a lone \r as \n, in values as in text.
    value = value.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"&#10;")
    return match.group(1) + value + match.group(3)


def _parse(data: bytes) -> Element:
    depth = 0
    root: Element | None = None
    source = io.BytesIO(keep_attribute_line_breaks(data))
    try:
        for event, element in iterparse(source, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                depth += 1
                if depth > MAX_DEPTH:
                    raise InvalidInput(
                        _("Project XML: elements are nested deeper than %(depth)d levels.")
                        % {"depth": MAX_DEPTH}
                    )
                root = element if root is None else root
            else:
                depth -= 1
    except DefusedXmlException:
        raise InvalidInput(
            _("Project XML: document type declarations and entities are not allowed.")
        ) from None
    except ParseError as error:
        raise InvalidInput(
            _("Project XML is not well-formed XML: %(error)s") % {"error": error}
        ) from None
    if root is None or root.tag != odm("ODM"):
        raise InvalidInput(_("Project XML: the root element must be an ODM 1.3 <ODM> element."))
    return root


def _child(parent: Element, tag: str, parent_name: str) -> Element:
    found = parent.find(odm(tag))
    if found is None:
        raise InvalidInput(
            _("Project XML: <%(parent)s> has no <%(child)s>.")
            % {"parent": parent_name, "child": tag}
        )
    return found


def _text(parent: Element | None, tag: str) -> str:
    if parent is None:
        return ""
    found = parent.find(tag)
    return (found.text or "") if found is not None else ""


def _flag(parent: Element | None, name: str) -> bool:
    return _text(parent, rc(name)).strip() == "1"


def _integer(value: str, where: str) -> int:
    value = value.strip() or "0"
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(
            _("Project XML: %(where)s is not a whole number: %(value)s")
            % {"where": where, "value": value}
        ) from None


# --- Settings, events, repeats, roles ----------------------------------------------------------


def _settings(globals_: Element | None, *, is_longitudinal: bool) -> ProjectSettings:
    title = _text(globals_, odm("StudyName")).strip() or _text(globals_, odm("ProtocolName"))
    purpose = _text(globals_, rc("Purpose")).strip()
    return ProjectSettings(
        title=title.strip(),
        purpose=_integer(purpose, "redcap:Purpose") if purpose else 2,
        purpose_other=_text(globals_, rc("PurposeOther")),
        notes=_text(globals_, rc("ProjectNotes")),
        record_autonumbering=_flag(globals_, "RecordAutonumberingEnabled"),
        surveys_enabled=_flag(globals_, "SurveysEnabled"),
        custom_record_label=_text(globals_, rc("CustomRecordLabel")),
        require_change_reason=_flag(globals_, "RequireChangeReason"),
        is_longitudinal=is_longitudinal,
    )


def _events(metadata: Element) -> list[EventSpec]:
    order = {
        ref.get("StudyEventOID", ""): _integer(ref.get("OrderNumber", "0"), "StudyEventRef")
        for ref in metadata.iter(odm("StudyEventRef"))
    }
    definitions = metadata.findall(odm("StudyEventDef"))
    ranked = sorted(enumerate(definitions), key=lambda p: (order.get(p[1].get("OID", ""), 0), p[0]))
    return [_event(element) for _index, element in ranked]


def _event(element: Element) -> EventSpec:
    oid = element.get("OID", "")
    unique = element.get(rc("UniqueEventName"), "").strip()
    if not unique:
        raise InvalidInput(
            _("Project XML: StudyEventDef %(oid)s has no redcap:UniqueEventName.") % {"oid": oid}
        )
    where = f"StudyEventDef {oid}"
    refs = sorted(
        element.findall(odm("FormRef")),
        key=lambda ref: _integer(ref.get("OrderNumber", "0"), where),
    )
    return EventSpec(
        unique_name=unique,
        name=element.get(rc("EventName"), "") or element.get("Name", ""),
        arm_number=_integer(element.get(rc("ArmNum"), "1"), f"{where} redcap:ArmNum"),
        arm_name=element.get(rc("ArmName"), ""),
        day_offset=_integer(element.get(rc("DayOffset"), "0"), f"{where} redcap:DayOffset"),
        offset_min=_integer(element.get(rc("OffsetMin"), "0"), f"{where} redcap:OffsetMin"),
        offset_max=_integer(element.get(rc("OffsetMax"), "0"), f"{where} redcap:OffsetMax"),
        custom_label=element.get(rc("CustomEventLabel"), ""),
        forms=tuple(
            ref.get(rc("FormName"), "") or _form_of_oid(ref.get("FormOID", "")) for ref in refs
        ),
    )


def _form_of_oid(oid: str) -> str:
    return oid.removeprefix("Form.")


def _repeats(globals_: Element) -> list[RepeatSpec]:
    repeats = [
        RepeatSpec(
            event=element.get(rc("UniqueEventName"), "").strip() or CLASSIC_EVENT,
            form=element.get(rc("RepeatInstrument"), "").strip(),
            custom_label=element.get(rc("CustomLabel"), ""),
        )
        for element in globals_.iter(rc("RepeatingInstrument"))
    ]
    repeats += [
        RepeatSpec(
            event=element.get(rc("UniqueEventName"), "").strip() or CLASSIC_EVENT,
            form="",
            custom_label=element.get(rc("CustomLabel"), ""),
        )
        for element in globals_.iter(rc("RepeatingEvent"))
    ]
    return repeats


def _role(element: Element) -> RoleSpec:
    rights = {name: value for name, value in element.attrib.items() if name not in ("role_name",)}
    return RoleSpec(
        name=element.get("role_name", "").strip(),
        unique_name=rights.pop("unique_role_name", "").strip(),
        rights=rights,
    )


# --- The data dictionary -----------------------------------------------------------------------


def _dictionary(metadata: Element) -> tuple[list[FieldRow], dict[str, str]]:
    """The fields in order (FormDef → ItemGroupRef → ItemGroupDef → ItemRef) and form labels."""
    groups = {element.get("OID", ""): element for element in metadata.iter(odm("ItemGroupDef"))}
    items = {element.get("OID", ""): element for element in metadata.iter(odm("ItemDef"))}
    codelists = {element.get("OID", ""): element for element in metadata.iter(odm("CodeList"))}
    rows: list[FieldRow] = []
    labels: dict[str, str] = {}
    seen: set[str] = set()
    for form in metadata.findall(odm("FormDef")):
        form_name = form.get(rc("FormName"), "") or _form_of_oid(form.get("OID", ""))
        labels[form_name] = form.get("Name", "") or form_name
        for group_ref in form.findall(odm("ItemGroupRef")):
            group = groups.get(group_ref.get("ItemGroupOID", ""))
            if group is None:
                raise InvalidInput(
                    _("Project XML: FormDef %(form)s refers to the unknown ItemGroupDef %(oid)s.")
                    % {"form": form_name, "oid": group_ref.get("ItemGroupOID", "")}
                )
            for item_ref in group.findall(odm("ItemRef")):
                row = _field_row(item_ref, items, codelists, form_name)
                if row is not None and row.field_name not in seen:
                    seen.add(row.field_name)
                    rows.append(row)
    return rows, labels


def _field_row(
    item_ref: Element,
    items: dict[str, Element],
    codelists: dict[str, Element],
    form_name: str,
) -> FieldRow | None:
    oid = item_ref.get("ItemOID", "")
    item = items.get(oid)
    if item is None:
        raise InvalidInput(_("Project XML: ItemRef %(oid)s refers to no ItemDef.") % {"oid": oid})
    kind = item.get(rc("FieldType"), "")
    name = item.get(rc("Variable"), "") or oid
    if not kind or name == f"{form_name}_complete":
        return None  # survey identifier, group, timestamps and form status: implicit columns
    if kind not in FIELD_TYPES:
        raise InvalidInput(
            _("Project XML: ItemDef %(oid)s has the unknown redcap:FieldType %(type)s.")
            % {"oid": oid, "type": kind}
        )
    field_type = FIELD_TYPES[kind]
    validation = item.get(rc("TextValidationType"), "")
    minimum, maximum = _range(item)
    return FieldRow(
        field_name=name,
        form_name=form_name,
        section_header=item.get(rc("SectionHeader"), ""),
        field_type=field_type,
        field_label=_label(item),
        select_choices_or_calculations=_choices(item, field_type, codelists),
        field_note=item.get(rc("FieldNote"), ""),
        text_validation_type_or_show_slider_number=VALIDATION_NAMES.get(validation, validation),
        text_validation_min=minimum,
        text_validation_max=maximum,
        identifier=item.get(rc("Identifier"), ""),
        branching_logic=item.get(rc("BranchingLogic"), ""),
        required_field=item.get(rc("RequiredField"), ""),
        custom_alignment=item.get(rc("CustomAlignment"), ""),
        matrix_group_name=item.get(rc("MatrixGroupName"), ""),
        matrix_ranking=item.get(rc("MatrixRanking"), ""),
        question_number=item.get(rc("QuestionNumber"), ""),
        field_annotation=item.get(rc("FieldAnnotation"), ""),
    )


def _label(item: Element) -> str:
    question = item.find(odm("Question"))
    if question is None:
        return ""
    formatted = question.find(rc("FormattedTranslatedText"))
    if formatted is not None:
        return formatted.text or ""
    return _text(question, odm("TranslatedText"))


def _range(item: Element) -> tuple[str, str]:
    bounds = {"GE": "", "LE": ""}
    for check in item.findall(odm("RangeCheck")):
        comparator = check.get("Comparator", "")
        if comparator in bounds:
            bounds[comparator] = _text(check, odm("CheckValue")).strip()
    return bounds["GE"], bounds["LE"]


def _choices(item: Element, field_type: str, codelists: dict[str, Element]) -> str:
    if field_type == "calc":
        return item.get(rc("Calculation"), "")
    if field_type == "slider":
        return item.get(rc("SliderLabels"), "")
    if field_type not in _CHOICE_TYPES and field_type != "checkbox":
        return ""
    ref = item.find(odm("CodeListRef"))
    codelist = codelists.get(ref.get("CodeListOID", "")) if ref is not None else None
    if codelist is None:
        return ""
    if field_type == "checkbox":
        return codelist.get(rc("CheckboxChoices"), "")
    return " | ".join(
        f"{entry.get('CodedValue', '')}, {_text(entry.find(odm('Decode')), odm('TranslatedText'))}"
        for entry in codelist.findall(odm("CodeListItem"))
    )


# --- Clinical data -----------------------------------------------------------------------------


class _ClinicalReader:
    """Turns ClinicalData into flat rows: one per record × event × repeat instance."""

    def __init__(self, project: ProjectXml) -> None:
        self.project = project
        self.record_field = project.record_id_field
        self.form_of: dict[str, str] = {}
        for row in project.fields:
            self.form_of[row.field_name] = row.form_name
        self.checkbox_of = {
            row.field_name for row in project.fields if row.field_type == "checkbox"
        }
        forms = list(project.instrument_labels)
        self.statuses = {f"{form}_complete": form for form in forms}
        self.timestamps = {f"{form}_timestamp" for form in forms}
        self.repeating_forms = {(r.event, r.form) for r in project.repeats if r.form}
        self.repeating_events = {r.event for r in project.repeats if not r.form}
        self.rows: dict[tuple[str, str, str, int | None], dict[str, str]] = {}

    def read(self, clinical: Element) -> None:
        for subject in clinical.findall(odm("SubjectData")):
            record = subject.get("SubjectKey", "")
            if not record.strip():
                raise InvalidInput(_("Project XML: a SubjectData has no SubjectKey."))
            blocks = subject.findall(odm("StudyEventData"))
            if not blocks:
                self._forms(record, "", None, subject)
            for block in blocks:
                event = block.get(rc("UniqueEventName"), "") or block.get(
                    "StudyEventOID", ""
                ).removeprefix("Event.")
                key = block.get("StudyEventRepeatKey", "")
                repeats = event in self.repeating_events
                instance = self._instance(key, record, "StudyEventRepeatKey") if repeats else None
                self._forms(record, event, instance, block)
        self.project.rows = list(self.rows.values())

    def _instance(self, text: str, record: str, attribute: str) -> int:
        number = _integer(text or "1", f"SubjectData {record} {attribute}")
        if number < 1:
            raise InvalidInput(
                _("Project XML: record %(record)s has a %(attribute)s below 1.")
                % {"record": record, "attribute": attribute}
            )
        return number

    def _forms(self, record: str, event: str, event_instance: int | None, parent: Element) -> None:
        for form in parent.findall(odm("FormData")):
            form_name = _form_of_oid(form.get("FormOID", ""))
            form_instance = self._instance(form.get("FormRepeatKey", ""), record, "FormRepeatKey")
            for group in form.findall(odm("ItemGroupData")):
                for item in group:
                    self._item(record, event, event_instance, form_name, form_instance, item)

    def _item(
        self,
        record: str,
        event: str,
        event_instance: int | None,
        enclosing_form: str,
        form_instance: int,
        item: Element,
    ) -> None:
        oid = item.get("ItemOID", "")
        if item.tag not in (odm("ItemData"), odm("ItemDataBase64Binary")):
            return
        column, form = self._column(oid, record)
        if oid in self.timestamps and item.get("Value"):
            self._survey_time(record, event, event_instance, form_instance, oid, item)
        if column is None:
            self._row(record, event, "", event_instance)  # a record may hold only its id
            return
        repeat_form, instance = "", event_instance
        event_key = event or CLASSIC_EVENT
        if form and (event_key, form) in self.repeating_forms:
            repeat_form = form
            instance = form_instance if form == enclosing_form else 1
        row = self._row(record, event, repeat_form, instance)
        if item.tag == odm("ItemDataBase64Binary"):
            self._file(record, event, repeat_form, instance, oid, item)
            return
        row[column] = item.get("Value", "")

    def _column(self, oid: str, record: str) -> tuple[str | None, str]:
        """The export column and form of an ItemOID; None for columns not imported."""
        if oid == self.record_field:
            return None, ""
        if oid == GROUP_COLUMN:
            return GROUP_COLUMN, ""
        if oid == SURVEY_IDENTIFIER or oid in self.timestamps:
            return None, ""
        if oid in self.statuses:
            return oid, self.statuses[oid]
        base, separator, _code = oid.partition("___")
        if oid in self.form_of:
            return oid, self.form_of[oid]
        if separator and base in self.checkbox_of:
            return oid, self.form_of[base]
        raise InvalidInput(
            _("Project XML: record %(record)s has data for the unknown field %(oid)s.")
            % {"record": record, "oid": oid}
        )

    def _survey_time(
        self,
        record: str,
        event: str,
        event_instance: int | None,
        form_instance: int,
        oid: str,
        item: Element,
    ) -> None:
        form = oid.removesuffix("_timestamp")
        if (event or CLASSIC_EVENT, form) in self.repeating_forms:
            instance = form_instance
        else:
            instance = event_instance or 1
        time = SurveyTime(record, event, form, instance, item.get("Value", ""))
        self.project.survey_times.append(time)

    def _row(
        self, record: str, event: str, repeat_form: str, instance: int | None
    ) -> dict[str, str]:
        key = (record, event, repeat_form, instance)
        row = self.rows.get(key)
        if row is None:
            row = {self.record_field: record}
            if event:
                row[EVENT_COLUMN] = event
            if instance is not None:
                row[REPEAT_FORM_COLUMN] = repeat_form
                row[REPEAT_INSTANCE_COLUMN] = str(instance)
            self.rows[key] = row
        return row

    def _file(
        self,
        record: str,
        event: str,
        repeat_form: str,
        instance: int | None,
        oid: str,
        item: Element,
    ) -> None:
        try:
            content = base64.b64decode("".join((item.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(
                _("Project XML: the file of %(field)s in record %(record)s is not valid base64.")
                % {"field": oid, "record": record}
            ) from None
        self.project.files.append(
            FileItem(
                record=record,
                event=event,
                repeat_instrument=repeat_form,
                instance=instance,
                field_name=oid,
                doc_name=item.get(rc("DocName"), "") or oid,
                media_type=item.get(rc("MimeType"), ""),
                content=content,
            )
        )
