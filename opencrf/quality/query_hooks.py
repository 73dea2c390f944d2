"""Hooks of queries and the field comment log on records' pages.

- a balloon beside each field of a saved form (records' field marks): in a project using the
  data resolution workflow, its queries' count coloured by the most pressing status (red: open,
  blue: responded, green: closed or verified), for users who may see queries; in a project
  using the comment log, its comments' count, for anyone who sees the form. Each links to the
  field's thread (`quality:field_thread`). A project using neither shows none.
- an edit check override opens queries (`query_rules.on_edit_check_override`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from opencrf.dictionary.design import design_of
from opencrf.projects.models import FieldNotes
from opencrf.quality.comment_selectors import form_comment_counts
from opencrf.quality.dq_checks import edit_check_override_register
from opencrf.quality.query_models import QueryStatus
from opencrf.quality.query_rules import on_edit_check_override
from opencrf.quality.query_selectors import form_query_statuses
from opencrf.quality.query_services import may_open
from opencrf.records.page_hooks import FormPlace, field_marks_register

# A speech balloon, drawn rather than an emoji: not every system has a font for one.
BALLOON = mark_safe(
    '<svg aria-hidden="true" width="12" height="12" viewBox="0 0 16 16" fill="currentColor" '
    'class="crf-balloon"><path d="M2 2h12a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H6l-4 3v-3H2a1 1 0 0 '
    '1-1-1V3a1 1 0 0 1 1-1z"/></svg>'
)
# The most pressing status first, with the colour of its balloon.
STATUS_STYLES = (
    (QueryStatus.OPEN, "text-bg-danger"),
    (QueryStatus.RESPONDED, "text-bg-primary"),
    (QueryStatus.CLOSED, "text-bg-success"),
    (QueryStatus.VERIFIED, "text-bg-success"),
)


def register() -> None:
    """Register this feature's hooks with records (called once from QualityConfig.ready)."""
    field_marks_register(field_note_marks)
    edit_check_override_register(on_edit_check_override)


def field_note_marks(place: FormPlace, field_names: Sequence[str]) -> Mapping[str, SafeString]:
    if place.stored is None:
        return {}
    mode = place.project.field_notes
    rights = place.rights
    if mode == FieldNotes.RESOLUTION and (rights.is_admin or rights.can_view_queries()):
        return _query_marks(place, _noted_fields(place, field_names))
    if mode == FieldNotes.COMMENT_LOG:
        return _comment_marks(place, _noted_fields(place, field_names))
    return {}


def _noted_fields(place: FormPlace, field_names: Sequence[str]) -> list[str]:
    """The fields that may carry notes: descriptive texts and the record id do not."""
    design = design_of(place.project)
    rows = {row.field_name: row for row in design.form_rows(place.form_name)}
    return [
        name
        for name in field_names
        if name in rows
        and rows[name].field_type != "descriptive"
        and name != design.record_id_field
    ]


def _thread_url(place: FormPlace, field_name: str) -> str:
    args = [
        place.project.pk,
        place.record.record_id,
        place.event.unique_name,
        place.form_name,
        place.instance,
        field_name,
    ]
    return reverse("quality:field_thread", args=args)


def _query_marks(place: FormPlace, field_names: Sequence[str]) -> dict[str, SafeString]:
    counts = form_query_statuses(place.record, place.event, place.form_name, place.instance)
    can_open = may_open(place.rights)
    marks = {}
    for name in field_names:
        found = counts.get(name)
        if found:
            marks[name] = _query_badge(_thread_url(place, name), name, found)
        elif can_open:
            marks[name] = _empty_balloon(_thread_url(place, name), name, _("Open a query"))
    return marks


def _query_badge(url: str, field_name: str, counts: Counter[str]) -> SafeString:
    status, style = next((s, c) for s, c in STATUS_STYLES if counts.get(s))
    labels = dict(QueryStatus.choices)
    summary = ", ".join(f"{labels[s]}: {counts[s]}" for s, _c in STATUS_STYLES if counts.get(s))
    return format_html(
        '<a class="badge {} text-decoration-none crf-query-mark" href="{}" data-status="{}" '
        'data-testid="query-mark-{}" title="{}">{} {} {}</a>',
        style,
        url,
        status,
        field_name,
        _("Queries: %(summary)s") % {"summary": summary},
        BALLOON,
        labels[status],
        counts[status],
    )


def _empty_balloon(url: str, field_name: str, title: str) -> SafeString:
    return format_html(
        '<a class="text-body-secondary text-decoration-none crf-note-mark" href="{}" '
        'data-testid="note-mark-{}" title="{}">{}<span class="visually-hidden"> {}</span></a>',
        url,
        field_name,
        title,
        BALLOON,
        title,
    )


def _comment_marks(place: FormPlace, field_names: Sequence[str]) -> dict[str, SafeString]:
    counts = form_comment_counts(place.record, place.event, place.form_name, place.instance)
    marks = {}
    for name in field_names:
        url = _thread_url(place, name)
        if counts.get(name):
            marks[name] = format_html(
                '<a class="badge text-bg-secondary text-decoration-none crf-comment-mark" '
                'href="{}" data-testid="comment-mark-{}" title="{}">{} {}</a>',
                url,
                name,
                _("Field comment log"),
                BALLOON,
                counts[name],
            )
        else:
            marks[name] = _empty_balloon(url, name, _("Add a comment"))
    return marks
