"""Drawing one page of a survey with data entry's renderer: the same blocks, the same live
branching logic, calculations and piping (escaped), without the record id, the form status or
anything of the staff pages. A file field shows the name and size of the file it holds, never
a link to it (see `surveys.uploads`)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.field_markup import blank_field_markup, pipes_nothing
from opencrf.dictionary.form_logic import RecordData, form_logic_spec, record_data
from opencrf.dictionary.piping import Piper, make_piper
from opencrf.dictionary.rendering import (
    Block,
    FieldBlock,
    MatrixBlock,
    SectionBlock,
    default_values,
    instrument_layout,
)
from opencrf.records.errors import ValueProblem
from opencrf.records.models import FormData
from opencrf.records.views.form_page import field_of
from opencrf.records.views.form_render import BlockView, FileLink, field_message
from opencrf.surveys.models import Survey, SurveyResponse
from opencrf.surveys.respond import survey_pages, survey_rows
from opencrf.surveys.translation_items import (
    SURVEY_COMPLETION,
    SURVEY_INSTRUCTIONS,
    SURVEY_TITLE,
    survey_text,
)
from opencrf.surveys.uploads import shown_files


@dataclass(frozen=True)
class SurveyPage:
    """One page of a response: which rows it asks, out of how many pages."""

    response: SurveyResponse
    design: ProjectDesign
    number: int
    pages: list[list[FieldRow]]

    @property
    def rows(self) -> list[FieldRow]:
        return self.pages[self.number - 1]

    @property
    def count(self) -> int:
        return len(self.pages)

    @property
    def last(self) -> bool:
        return self.number >= self.count

    @property
    def all_rows(self) -> list[FieldRow]:
        return [row for page in self.pages for row in page]


def survey_page(response: SurveyResponse, number: int) -> SurveyPage:
    """The page `number` of the response's survey (clamped to its pages)."""
    design = design_of(response.project)
    pages = survey_pages(response.survey, survey_rows(response.survey, design))
    return SurveyPage(response, design, max(1, min(number, len(pages))), pages)


def stored_form(response: SurveyResponse) -> FormData | None:
    if response.record is None:
        return None
    return FormData.objects.filter(
        record=response.record,
        event=response.event,
        form_name=response.survey.form_name,
        instance=response.instance,
    ).first()


def shown_values(page: SurveyPage) -> dict[str, str]:
    """What the page's inputs hold: the stored answers, or a new form's action-tag defaults."""
    stored = stored_form(page.response)
    if stored is not None:
        return dict(stored.values)
    return default_values(page.all_rows, now=timezone.localtime())


def _record_data(page: SurveyPage) -> tuple[dict[str, str], RecordData]:
    """(what this form sees of its event, every stored value of the record), as data entry's
    `form_render._record_data` gives them, this form's stored answers included: a page's
    branching may read an answer of an earlier page."""
    response = page.response
    names = {event.pk: event.unique_name for event in page.design.events}
    here: dict[str, str] = {}
    forms = []
    repeating = page.design.repeating_at(response.event)
    if response.record is not None:
        for form in FormData.objects.filter(record=response.record):
            if form.event_id not in names:
                continue
            forms.append((names[form.event_id], form.instance, form.values))
            if form.event_id != response.event.pk:
                continue
            own = form.form_name == response.survey.form_name
            if (own and form.instance == response.instance) or (
                not own and _shares(form.form_name, form.instance, repeating, response.instance)
            ):
                here.update(form.values)
    data = record_data(forms)
    event_data = data.setdefault(response.event.unique_name, {})
    event_data.setdefault(str(response.instance), {}).update(here)
    return here, data


def _shares(form_name: str, instance: int, repeating: set[str], wanted: int) -> bool:
    if "" in repeating:
        return instance == wanted
    return form_name not in repeating and instance == 1


def _logic_context(page: SurveyPage, data: RecordData) -> dict[str, Any]:
    response = page.response
    event = response.event
    record = response.record
    arm_events = page.design.events_of_arm(event.arm_id)
    # The design's events hold their arms: the response's event needs no query for its own.
    arm = next((e.arm for e in arm_events if e.pk == event.pk), None) or event.arm
    return {
        "record": record.record_id if record is not None else "",
        "event": event.unique_name,
        "event_id": event.pk,
        "events": [e.unique_name for e in arm_events],
        "arm_number": arm.number,
        "instance": response.instance,
        "project_id": response.project_id,
        "dag": record.group.unique_name if record is not None and record.group else "",
        "dag_id": (record.group_id or "") if record is not None else "",
        "data": data,
    }


def piper(
    page: SurveyPage,
    values: Mapping[str, str],
    known: tuple[dict[str, str], RecordData] | None = None,
) -> Piper:
    """Pipes the record's answers into the page's texts; `known` is `_record_data(page)` when
    the caller has it already."""
    here, data = known or _record_data(page)
    record = page.response.record
    smart = {
        "record-name": record.record_id if record is not None else "",
        "event-name": page.response.event.unique_name,
    }
    # Choice labels piped in (`[field:label]`) read as the page's language shows them.
    shown = page.design.shown_rows(page.design.rows, translation.get_language())
    rows = {row.field_name: row for row in shown}
    return make_piper(rows, {**here, **values}, data=data, smart=smart)


def _without_status(blocks: list[Block], form_name: str) -> list[Block]:
    status = f"{form_name}_complete"
    return [
        block
        for block in blocks
        if not (isinstance(block, SectionBlock) and block.field_name == status)
        and not (block.kind == "field" and block.field.name == status)  # type: ignore[union-attr]
    ]


def _names(block: Block) -> list[str]:
    if isinstance(block, MatrixBlock):
        return [row.name for row in block.rows]
    return [block.field.name] if block.kind == "field" else []  # type: ignore[union-attr]


def _by_field(problems: Sequence[ValueProblem]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for problem in problems:
        found.setdefault(field_of(problem.field), []).append(field_message(problem))
    return found


@dataclass(frozen=True)
class SurveyBlockView(BlockView):
    """A block of a survey page; `markup` is a blank question's markup, drawn once per process
    (`dictionary.field_markup`), or "" when the template draws the block."""

    markup: str = ""


def _block_view(
    block: Block, errors: list[str], file: FileLink | None, unpiped: set[str]
) -> SurveyBlockView:
    view = SurveyBlockView(block, errors, file=file)
    if not isinstance(block, FieldBlock) or block.field.name not in unpiped:
        return view
    markup = blank_field_markup(block.field, invalid=view.message_id)
    return dataclasses.replace(view, markup=markup) if markup is not None else view


def page_context(
    page: SurveyPage, values: Mapping[str, str], problems: Sequence[ValueProblem] = ()
) -> dict[str, Any]:
    """The blocks, logic spec and error summary of one survey page."""
    known = _record_data(page)
    here, data = known
    merged = {**here, **values}
    pipe = piper(page, merged, known)
    # Multi-language forms: the texts of the page's language (the caller overrides it).
    shown = page.design.shown_rows(page.rows, translation.get_language())
    layout = instrument_layout(shown, values=merged, pipe=pipe)
    layout = _without_status(layout, page.response.survey.form_name)
    refused = _by_field(problems)
    files = {
        name: FileLink(name=stored.original_name, size=stored.size, url="")
        for name, stored in shown_files(page.response, page.rows, merged).items()
    }
    unpiped = {row.field_name for row in shown if pipes_nothing(row)}
    blocks = [
        _block_view(
            block,
            [m for name in _names(block) for m in refused.get(name, [])],
            files.get(block.field.name) if block.kind == "field" else None,  # type: ignore[union-attr]
            unpiped,
        )
        for block in layout
    ]
    labels = {row.field_name: pipe.plain(row.field_label) for row in shown}
    summary = [(labels.get(field_of(p.field), p.field), field_of(p.field), p) for p in problems]
    return {
        "blocks": blocks,
        "problems": summary,
        "logic": form_logic_spec(page.rows, _logic_context(page, data)),
    }


def piped_text(response: SurveyResponse, text: str) -> str:
    """A survey text (completion text) with the record's answers piped in, as escaped markup."""
    if "[" not in text:  # nothing to pipe (most texts): no need to read the record
        return text
    page = survey_page(response, 1)
    stored = stored_form(response)
    return piper(page, dict(stored.values) if stored else {}).plain(text)


def required_message(page: SurveyPage) -> str:
    return page.response.survey.required_message or _(
        "Some required questions have no answer. Please answer them to continue."
    )


def shown_survey(survey: Survey, design: ProjectDesign, language: str) -> Survey:
    """The survey with its title, instructions and completion text in `language` where the
    project translates them (an unsaved copy for the page; the row itself is not touched)."""
    table = design.texts_in(language)
    if not table:
        return survey
    shown = copy.copy(survey)
    shown.title = survey_text(table, survey, SURVEY_TITLE, survey.title)
    shown.instructions = survey_text(table, survey, SURVEY_INSTRUCTIONS, survey.instructions)
    shown.completion_text = survey_text(table, survey, SURVEY_COMPLETION, survey.completion_text)
    return shown
