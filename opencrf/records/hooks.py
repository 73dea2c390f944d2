"""Calls out of records after form data are committed, for apps that sit above records.

Records must not import the apps that react to its writes (surveys' automated invitations, for
one). They register a function here at start-up (`AppConfig.ready`); `FormWriter.persist` —
the one write path of the web form, the API, imports and surveys — announces each written
chunk, and every registered function is called with it after the transaction commits, so a
rolled-back save calls nothing. A failing function is logged and never undoes the save.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass

from django.db import transaction

from opencrf.projects.models import Project

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FormKey:
    """One written form instance: the record's internal key, the event's id, form, instance."""

    record_id: int
    event_id: int
    form_name: str
    instance: int


FormSaved = Callable[[Project, Collection[FormKey]], None]
_form_saved: list[FormSaved] = []


def form_saved_register(function: FormSaved) -> None:
    """Call `function(project, keys)` after each commit that wrote forms (once per function)."""
    if function not in _form_saved:
        _form_saved.append(function)


def form_saved_unregister(function: FormSaved) -> None:
    if function in _form_saved:
        _form_saved.remove(function)


def form_saved(project: Project, keys: Collection[FormKey]) -> None:
    """Announce written forms; the registered functions run once the transaction commits."""
    if not keys or not _form_saved:
        return
    frozen = frozenset(keys)
    for function in list(_form_saved):
        transaction.on_commit(functools.partial(_call, function, project, frozen))


def _call(function: FormSaved, project: Project, keys: Collection[FormKey]) -> None:
    try:
        function(project, keys)
    except Exception:  # the save is committed; a reaction to it must not look like its failure
        logger.exception("A form-saved hook (%s) failed", getattr(function, "__name__", function))
