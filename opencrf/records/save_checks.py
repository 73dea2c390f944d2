"""Checks run before forms are stored, for apps above records (data quality edit checks).

Records must not import the apps that check its writes. They register a function here at
start-up (`AppConfig.ready`); `FormWriter.persist` — the one write path of the web form, the
API, imports and surveys — calls every registered function with the planned forms (their
values after the write) before anything is stored. A check refuses a save by raising
`EditCheckRefused` (an `InvalidValues`: every path already shows its problems and changes
nothing); a check that fails otherwise fails the save, as a check that cannot run must not
let data through.

The person saving confirms what a check asked for with `edit_checks_confirmed(reason, …)`
around the save (the data-entry page does, when its box is ticked); a check reads it with
`confirmation()`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from opencrf.audit.services import AuditContext
from opencrf.projects.models import Event, Project
from opencrf.records.errors import InvalidValues, ValueProblem
from opencrf.records.models import Record


@dataclass(frozen=True, slots=True)
class PlannedForm:
    """One form instance about to be stored, with its values after the write."""

    record: Record
    event: Event
    form_name: str
    instance: int
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The saver's answer to edit checks: a reason, and whether they override hard ones."""

    reason: str
    override: bool = False


class EditCheckRefused(InvalidValues):
    """An edit check refused the save; `problems` say which rule and how to confirm."""


SaveCheck = Callable[[AuditContext, Project, Sequence[PlannedForm]], None]
_checks: list[SaveCheck] = []
_confirmation: ContextVar[Confirmation | None] = ContextVar("edit_check_confirmation", default=None)


def save_check_register(function: SaveCheck) -> None:
    """Call `function(context, project, planned)` before each write of forms (once each)."""
    if function not in _checks:
        _checks.append(function)


def save_check_unregister(function: SaveCheck) -> None:
    if function in _checks:
        _checks.remove(function)


def save_checks_run(
    context: AuditContext, project: Project, planned: Sequence[PlannedForm]
) -> None:
    """Run every registered check; raises what a check raises (EditCheckRefused)."""
    if not planned:
        return
    for function in list(_checks):
        function(context, project, planned)


@contextlib.contextmanager
def edit_checks_confirmed(reason: str, *, override: bool = False) -> Iterator[None]:
    """Saves inside this block carry the saver's confirmation of edit checks."""
    token = _confirmation.set(Confirmation(reason.strip(), override) if reason.strip() else None)
    try:
        yield
    finally:
        _confirmation.reset(token)


def confirmation() -> Confirmation | None:
    return _confirmation.get()


def refused(messages: Sequence[str]) -> EditCheckRefused:
    """The error of a refused save: each message shown where the reason is asked for."""
    return EditCheckRefused([ValueProblem("", "", "reason_required", m) for m in messages])
