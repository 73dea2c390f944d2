"""Typed refusals of the records services."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from opencrf.core.errors import DomainError, InvalidInput, NotFound

if TYPE_CHECKING:
    from opencrf.records.models import FormData


class RecordNotFound(NotFound):
    """The record does not exist or is in another data access group: the two look the same."""


@dataclass(frozen=True, slots=True)
class ValueProblem:
    """One value that breaks one rule; `message` is translated and names the value."""

    field: str
    value: str
    rule: str
    message: str


class InvalidValues(InvalidInput):
    """Values refused as a whole: every problem is listed, nothing was saved."""

    def __init__(self, problems: Sequence[ValueProblem]) -> None:
        super().__init__(_("Some values were refused; nothing was saved."))
        self.problems = list(problems)


class SaveConflict(DomainError):
    """Someone saved the form since you opened it; `theirs` is field → (then, now)."""

    def __init__(self, current: FormData, theirs: dict[str, tuple[str, str]]) -> None:
        super().__init__(_("Someone else saved this form after you opened it; nothing was saved."))
        self.current = current
        self.theirs = theirs
