"""Multi-language forms: the texts of a design in other languages, and their translation file.

A project may list languages (`ProjectLanguage`); one of them is the base language, the one the
data dictionary itself is written in. Every other language holds translations of the design's
texts, each keyed as REDCap's Multi-Language Management keys them:

    type            name            index           the text
    form-name       instrument      ""              the instrument's label
    field-header    field           ""              the section header above the field
    field-label     field           ""              the field label
    field-note      field           ""              the field note
    field-enum      field           choice code     one choice's label (radio, dropdown, checkbox)
    field-slider    field           left|middle|right   a slider's end or middle label
    event-name      unique event    ""              an event's name (longitudinal projects)
    arm-name        arm number      ""              an arm's name (longitudinal projects)

Other apps add their own types (the survey title, instructions and completion text) through
`register_items`. A text without a translation falls back to the base language, item by item.

The translation file is CSV in UTF-8 with the header `type,name,index,hash,default,translation`:
`default` is the base text and `hash` a short digest of it, so a translation made before the
base text changed is shown as out of date. The file leaves the data dictionary's 18 columns
untouched: a REDCap dictionary still round-trips, and each language travels in its own file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from opencrf.dictionary.choices import Choice, format_choices, parse_choices, parse_slider_labels
from opencrf.dictionary.columns import FieldRow

if TYPE_CHECKING:
    from opencrf.projects.models import Project

HEADER = ("type", "name", "index", "hash", "default", "translation")
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TEXT = 20_000
LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$")

FORM_NAME = "form-name"
FIELD_HEADER = "field-header"
FIELD_LABEL = "field-label"
FIELD_NOTE = "field-note"
FIELD_ENUM = "field-enum"
FIELD_SLIDER = "field-slider"
SLIDER_POSITIONS = ("left", "middle", "right")
EVENT_NAME = "event-name"
ARM_NAME = "arm-name"

_CHOICE_TYPES = frozenset({"radio", "dropdown", "checkbox"})

Key = tuple[str, str, str]
Table = Mapping[Key, str]


@dataclass(frozen=True, slots=True)
class Item:
    """One translatable text of the design: its key and its base-language text."""

    kind: str
    name: str
    index: str
    default: str

    @property
    def key(self) -> Key:
        return (self.kind, self.name, self.index)


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One fault of a translation file, by the line a spreadsheet shows (header = line 1)."""

    line: int | None
    message: str


class TranslationFileError(Exception):
    """The translation file cannot be applied; `problems` lists every fault. Nothing changed."""

    def __init__(self, problems: Sequence[FileProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(problem.message for problem in self.problems))


ItemSource = Callable[["Project"], Iterable[Item]]
_extra_sources: list[ItemSource] = []


def register_items(source: ItemSource) -> None:
    """Add a source of items beyond the dictionary's (called once, from an app's `ready`)."""
    if source not in _extra_sources:
        _extra_sources.append(source)


def extra_items(project: Project) -> list[Item]:
    """The items every registered source gives for `project`."""
    return [item for source in _extra_sources for item in source(project)]


def text_hash(text: str) -> str:
    """A short digest of a base text, to notice translations made before it changed."""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def language_matches(code: str, wanted: str) -> bool:
    """Whether a project language `code` serves the wanted language (`ja` serves `ja-JP`)."""
    code, wanted = code.lower(), wanted.lower()
    return code == wanted or code.split("-")[0] == wanted.split("-")[0]


def design_items(rows: Sequence[FieldRow], instrument_labels: Mapping[str, str]) -> list[Item]:
    """Every translatable text of the dictionary, in dictionary order, empty texts left out."""
    items = [Item(FORM_NAME, name, "", label) for name, label in instrument_labels.items()]
    for row in rows:
        items.extend(_row_items(row))
    return [item for item in items if item.default.strip()]


def event_items(arms: Iterable[tuple[int, str]], events: Iterable[tuple[str, str]]) -> list[Item]:
    """The names of a longitudinal project's arms (number, name) and events (unique name,
    name), in that order; empty names left out."""
    items = [Item(ARM_NAME, str(number), "", name) for number, name in arms]
    items += [Item(EVENT_NAME, unique_name, "", name) for unique_name, name in events]
    return [item for item in items if item.default.strip()]


def _row_items(row: FieldRow) -> Iterator[Item]:
    name = row.field_name
    yield Item(FIELD_HEADER, name, "", row.section_header)
    yield Item(FIELD_LABEL, name, "", row.field_label)
    yield Item(FIELD_NOTE, name, "", row.field_note)
    if row.field_type in _CHOICE_TYPES:
        for choice in parse_choices(row.select_choices_or_calculations):
            yield Item(FIELD_ENUM, name, choice.code, choice.label)
    elif row.field_type == "slider":
        labels = parse_slider_labels(row.select_choices_or_calculations)
        for position, label in zip(SLIDER_POSITIONS, labels, strict=True):
            yield Item(FIELD_SLIDER, name, position, label)


def translate_rows(rows: Iterable[FieldRow], table: Table) -> list[FieldRow]:
    """The rows with every translated text put in; others keep the base text."""
    if not table:
        return list(rows)
    return [_translate_row(row, table) for row in rows]


def _translate_row(row: FieldRow, table: Table) -> FieldRow:
    name = row.field_name
    changes = {
        column: table[(kind, name, "")]
        for kind, column in (
            (FIELD_HEADER, "section_header"),
            (FIELD_LABEL, "field_label"),
            (FIELD_NOTE, "field_note"),
        )
        if (kind, name, "") in table
    }
    choices = row.select_choices_or_calculations
    if row.field_type in _CHOICE_TYPES:
        parsed = parse_choices(choices)
        if any((FIELD_ENUM, name, choice.code) in table for choice in parsed):
            changes["select_choices_or_calculations"] = format_choices(
                Choice(choice.code, table.get((FIELD_ENUM, name, choice.code), choice.label))
                for choice in parsed
            )
    elif row.field_type == "slider":
        labels = parse_slider_labels(choices)
        if any((FIELD_SLIDER, name, position) in table for position in SLIDER_POSITIONS):
            changes["select_choices_or_calculations"] = " | ".join(
                table.get((FIELD_SLIDER, name, position), label)
                for position, label in zip(SLIDER_POSITIONS, labels, strict=True)
            )
    return row.replace(**changes) if changes else row


@dataclass(frozen=True, slots=True)
class FileLine:
    """One line of a translation file that names a known item."""

    line: int
    item: Item
    translation: str
    outdated: bool


def read_translation_file(data: bytes, items: Sequence[Item]) -> list[FileLine]:
    """The lines of a translation file, checked against the design's `items`.

    Raises `TranslationFileError` naming every faulty line: a file that is not UTF-8 CSV, a
    missing column, a type, name or index that the design does not have, or a text too long.
    A line whose `default` differs from today's base text still applies; it is `outdated`.
    """
    if len(data) > MAX_FILE_BYTES:
        raise TranslationFileError(
            [
                FileProblem(
                    None,
                    _("The file is larger than %(mb)d MB.") % {"mb": MAX_FILE_BYTES // 1048576},
                )
            ]
        )
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise TranslationFileError([FileProblem(1, str(error))]) from None
    columns = _columns(header)
    known = {item.key: item for item in items}
    lines: list[FileLine] = []
    problems: list[FileProblem] = []
    try:
        for cells in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            parsed = _file_line(number, cells, columns, known)
            if isinstance(parsed, FileProblem):
                problems.append(parsed)
            else:
                lines.append(parsed)
    except csv.Error as error:
        problems.append(FileProblem(reader.line_num, str(error)))
    if problems:
        raise TranslationFileError(problems)
    return lines


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise TranslationFileError(
            [FileProblem(None, _("The file is UTF-16; save it as CSV UTF-8 and upload it again."))]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise TranslationFileError(
            [FileProblem(line, _("This line is not UTF-8 text; save the file as CSV UTF-8."))]
        ) from None


def _columns(header: list[str] | None) -> dict[str, int]:
    if header is None:
        raise TranslationFileError([FileProblem(None, _("The file is empty."))])
    names = [cell.strip().lower() for cell in header]
    missing = [name for name in ("type", "name", "index", "translation") if name not in names]
    if missing:
        raise TranslationFileError(
            [
                FileProblem(
                    1,
                    _("The header lacks the column(s) %(missing)s; expected %(header)s.")
                    % {"missing": ", ".join(missing), "header": ",".join(HEADER)},
                )
            ]
        )
    return {name: names.index(name) for name in HEADER if name in names}


def _file_line(
    number: int, cells: list[str], columns: Mapping[str, int], known: Mapping[Key, Item]
) -> FileLine | FileProblem:
    def cell(name: str) -> str:
        position = columns.get(name)
        return cells[position] if position is not None and position < len(cells) else ""

    key = (cell("type").strip(), cell("name").strip(), cell("index").strip())
    item = known.get(key)
    if item is None:
        return FileProblem(number, unknown_item_message(key, known))
    translation = cell("translation").strip()
    if len(translation) > MAX_TEXT:
        return FileProblem(
            number,
            _("The translation is longer than %(limit)d characters.") % {"limit": MAX_TEXT},
        )
    given_hash = cell("hash").strip()
    outdated = bool(given_hash) and given_hash != text_hash(item.default)
    return FileLine(number, item, translation, outdated)


def unknown_item_message(key: Key, known: Mapping[Key, Item]) -> str:
    kind, name, index = key
    kinds = {k for k, _n, _i in known}
    if kind not in kinds:
        return _("Unknown type “%(type)s”; the design has %(types)s.") % {
            "type": kind,
            "types": ", ".join(sorted(kinds)),
        }
    if not any(k == kind and n == name for k, n, _i in known):
        return _("The design has no %(type)s text for “%(name)s”.") % {"type": kind, "name": name}
    return _("“%(name)s” has no %(type)s text with index “%(index)s”.") % {
        "type": kind,
        "name": name,
        "index": index,
    }


def write_translation_file(items: Iterable[Item], table: Table) -> str:
    """The translation file of one language: every item, its base text and its translation."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for item in items:
        writer.writerow(
            (
                item.kind,
                item.name,
                item.index,
                text_hash(item.default),
                item.default,
                table.get(item.key, ""),
            )
        )
    return out.getvalue()
