"""The markup of blank questions, drawn once per process and kept.

A survey page asks every participant the same blank questions, and drawing a question
through `dictionary/render/field.html` is most of what the page costs the server (a 30-field
page: about 10 ms of CPU, bench/RESULTS.md "Survey load"). A blank question's markup depends
only on its `FieldView` (which holds everything the template reads), the message id that
marks it invalid and the language of the page, so it is kept under exactly those.

Only blank questions whose texts pipe nothing are kept: no answer and no piped text of any
participant stays in the process. Everything else is drawn by the template as before.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping

from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.rendering import FieldView

FIELD_TEMPLATE = "dictionary/render/field.html"
MAX_KEPT = 4096
_FIELDS = tuple(f.name for f in dataclasses.fields(FieldView))
# Inputs drawn with more than the view: a file field shows the file it holds.
_NOT_KEPT = frozenset({"file"})

_kept: OrderedDict[Hashable, SafeString] = OrderedDict()
_lock = threading.Lock()


def pipes_nothing(row: FieldRow) -> bool:
    """Whether the row's label, note and choices are shown as written (no `[reference]`)."""
    return not any("[" in text for text in _piped_texts(row))


def _piped_texts(row: FieldRow) -> tuple[str, ...]:
    return (row.field_label, row.field_note, row.select_choices_or_calculations)


def blank_field_markup(view: FieldView, *, invalid: str = "") -> SafeString | None:
    """What `field.html` draws for `view` when it is blank, kept per process; None when the
    view holds an answer or a file (the caller draws it with the template).

    The caller vouches that the view's texts pipe nothing (`pipes_nothing` of its row).
    """
    if view.value or view.input_kind in _NOT_KEPT or any(c.selected for c in view.choices):
        return None
    key = (_identity(view), invalid, get_language())
    with _lock:
        markup = _kept.get(key)
        if markup is not None:
            _kept.move_to_end(key)
            return markup
    markup = SafeString(render_to_string(FIELD_TEMPLATE, {"field": view, "invalid": invalid}))
    with _lock:
        _kept[key] = markup
        while len(_kept) > MAX_KEPT:
            _kept.popitem(last=False)
    return markup


def _identity(view: FieldView) -> Hashable:
    """Every value the template may read, with its type: markup (SafeString) and plain text
    of the same characters are drawn differently."""
    parts: list[Hashable] = []
    for name in _FIELDS:
        value = getattr(view, name)
        if isinstance(value, Mapping):
            value = tuple(sorted(value.items()))
        parts.append((value, type(value)))
    parts.append(tuple(type(choice.label) for choice in view.choices))
    return tuple(parts)


def forget_markup() -> None:
    """Drop every kept markup (tests; a template change needs a new process anyway)."""
    with _lock:
        _kept.clear()
