"""Hooks of source data verification on records' pages: the data entry form's note and field
marks, the record home page's panel, and the check of marks after every committed save.

The note and the marks carry no form of their own (nested forms are not allowed, and the hooks
get no request to put a CSRF token in): their Verify buttons submit the data entry form
(`form="crf-entry"`) to the verify address (`formaction`), which reads only the button's field
and the form's `base_version` from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from opencrf.dictionary.design import design_of
from opencrf.quality import verification_selectors as selectors
from opencrf.quality.verification_services import verifications_check
from opencrf.records.page_hooks import FormNote, FormPlace, RecordPage


def _urls(place: FormPlace) -> dict[str, str]:
    args = [place.project.pk, place.record.record_id, place.event.unique_name, place.form_name]
    return {
        "verify_url": reverse("quality:verification_verify", args=[*args, place.instance]),
        "unverify_url": reverse("quality:verification_unverify", args=[*args, place.instance]),
    }


def _verification(place: FormPlace) -> selectors.FormVerification:
    return selectors.form_verification(
        place.record, place.event, place.stored, design_of(place.project)
    )


def verification_note(place: FormPlace) -> FormNote | None:
    """The form's verification: by whom and when, or what changed since; Verify for monitors."""
    if place.stored is None:
        return None
    marks = _verification(place)
    monitor = place.rights.source_verify
    if not monitor and marks.form is None and not marks.fields:
        return None
    fields = list(marks.fields.values())
    context = {
        "mark": marks.form,
        "monitor": monitor,
        "fields_valid": sum(1 for mark in fields if mark.valid),
        "fields_changed": [mark.field_name for mark in fields if not mark.valid],
        **_urls(place),
    }
    return FormNote(SafeString(render_to_string("quality/verification_note.html", context)))


def verification_marks(place: FormPlace, field_names: Sequence[str]) -> Mapping[str, SafeString]:
    """Beside each field: ✓ verified or ⚠ changed since verified, and Verify for monitors."""
    if place.stored is None:
        return {}
    design = design_of(place.project)
    marks = selectors.form_verification(place.record, place.event, place.stored, design)
    monitor = place.rights.source_verify
    if not monitor and marks.form is None and not marks.fields:
        return {}
    answered = selectors.answered_fields(place.stored, design)
    broken = set(marks.form.changed) if marks.form and not marks.form.valid else set()
    urls = _urls(place)
    shown: dict[str, SafeString] = {}
    for name in field_names:
        mark = marks.fields.get(name)
        if mark is None and name not in answered and name not in broken:
            continue  # a blank (or hidden) field: verifying the whole form covers it
        context = {
            "name": name,
            "mark": mark,
            "form_changed": name in broken,
            "monitor": monitor,
            **urls,
        }
        html = render_to_string("quality/verification_mark.html", context).strip()
        if html:
            shown[name] = SafeString(html)
    return shown


def verification_panel(page: RecordPage) -> SafeString | None:
    """The record's saved form instances with their verification, on its home page."""
    rows = selectors.record_verification_rows(page.project, page.record, page.rights)
    if not rows or (not page.rights.source_verify and not any(row.marked for row in rows)):
        return None
    context = {"project": page.project, "record": page.record, "rows": rows}
    html = render_to_string("quality/verification_panel.html", context, page.request)
    return SafeString(html)


def register() -> None:
    """Register this feature's hooks with records (called once from QualityConfig.ready)."""
    from opencrf.records.hooks import form_saved_register
    from opencrf.records.page_hooks import (
        field_marks_register,
        form_note_register,
        record_panel_register,
    )

    form_note_register(verification_note)
    field_marks_register(verification_marks)
    record_panel_register(verification_panel)
    form_saved_register(verifications_check)  # a verified value changed by any write path
