"""Which forms a PDF holds: blank instruments, or the stored forms of the records a user may
see, as `FormPage`s for `records.pdf.forms_pdf`.

The API's `content=pdf` and the browser's PDF links both build their pages here, so the two
print the same thing. The caller chooses the records (`records_visible_to`, so a record of
another data access group is never found) and, for the browser, the export rights that
decide what a filled PDF may show.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import replace

from django.db.models import QuerySet

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import ProjectDesign
from opencrf.files.selectors import files_in_project
from opencrf.projects.models import ExportRight, Project
from opencrf.records.models import FormData, Record
from opencrf.records.pdf import FormPage
from opencrf.records.signatures import pdf_lock_lines

MAX_FORMS = 2_000  # a PDF is built in memory: larger ones are refused (ask for fewer records)
REMOVED = "[*DATA REMOVED*]"


class TooManyForms(Exception):
    """More than MAX_FORMS forms were asked for."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def blank_pages(design: ProjectDesign, forms: Collection[str]) -> list[FormPage]:
    """The instruments named in `forms`, blank, in design order."""
    return [
        FormPage(i.label, design.form_rows(i.name)) for i in design.instruments if i.name in forms
    ]


def filled_pages(
    project: Project,
    design: ProjectDesign,
    records: QuerySet[Record],
    forms: Collection[str],
    *,
    event_name: str = "",
    instance: int | None = None,
    export_rights: Mapping[str, str] | None = None,
) -> list[FormPage]:
    """The stored forms of `records`, by record, event, form and instance.

    With `export_rights` (form → ExportRight), a form without export right is left out and
    identifiers (and for de-identified rights free text and dates) are printed as removed,
    as REDCap prints them. TooManyForms above MAX_FORMS forms.
    """
    if export_rights is not None:
        forms = [name for name in forms if export_rights.get(name) != ExportRight.NONE]
    stored = FormData.objects.filter(record__in=records, form_name__in=forms).select_related(
        "record", "locked_by", "signed_by", "record__locked_by"
    )
    if event_name:
        stored = stored.filter(event__unique_name=event_name)
    if instance is not None:
        stored = stored.filter(instance=instance)
    found = list(stored[: MAX_FORMS + 1])
    if len(found) > MAX_FORMS:
        raise TooManyForms(MAX_FORMS)
    pages = list(_pages(project, design, found))
    if export_rights is not None:
        pages = [_redacted(page, design, export_rights) for page in pages]
    return pages


def _pages(project: Project, design: ProjectDesign, found: list[FormData]) -> Iterator[FormPage]:
    labels = {i.name: i.label for i in design.instruments}
    events = {e.pk: e for e in design.events}
    order = {e.pk: n for n, e in enumerate(design.events)}
    form_order = {i.name: n for n, i in enumerate(design.instruments)}
    for form in sorted(
        found,
        key=lambda f: (
            f.record.sort_key,
            order.get(f.event_id, 0),
            form_order[f.form_name],
            f.instance,
        ),
    ):
        event = events.get(form.event_id)
        caption = f"Record {form.record.record_id}"
        if project.is_longitudinal and event is not None:
            caption += f" — {event.name}"
        repeats = event is not None and design.repeats_form(event, form.form_name)
        if repeats or form.instance > 1:
            caption += f" — #{form.instance}"
        values = {design.record_id_field: form.record.record_id, **form.values}
        yield FormPage(
            labels[form.form_name],
            design.form_rows(form.form_name),
            values,
            form.status,
            caption,
            pdf_lock_lines(form, event.unique_name if event else ""),
        )


def _redacted(page: FormPage, design: ProjectDesign, rights: Mapping[str, str]) -> FormPage:
    if page.values is None or not page.rows:
        return page
    right = rights.get(page.rows[0].form_name, ExportRight.NONE)
    if right == ExportRight.FULL:
        return page
    values = dict(page.values)
    rows = []
    for row in page.rows:
        if row.field_name != design.record_id_field and _removed(row, right):
            values.pop(row.field_name, None)
            # A removed field keeps its label and says so; its choices are not ticked.
            row = replace(row, field_type="text", select_choices_or_calculations="")
            values[row.field_name] = REMOVED
        rows.append(row)
    return replace(page, rows=rows, values=values)


def _removed(row: FieldRow, right: str) -> bool:
    if row.identifier.strip().lower() == "y":
        return True
    if right != ExportRight.DEIDENTIFIED:
        return False
    validation = row.text_validation_type_or_show_slider_number.strip()
    free_text = row.field_type == "notes" or (row.field_type == "text" and not validation)
    return free_text or (row.field_type == "text" and validation.startswith("date"))


def file_names(project: Project, pages: list[FormPage]) -> dict[str, str]:
    """Names of the files filled forms refer to (a field shows its file's name)."""
    ids = {
        row.field_name: int(page.values[row.field_name])
        for page in pages
        if page.values
        for row in page.rows
        if row.field_type == "file" and page.values.get(row.field_name, "").isdigit()
    }
    found = files_in_project(project, ids.values())
    return {name: found[pk].original_name for name, pk in ids.items() if pk in found}
