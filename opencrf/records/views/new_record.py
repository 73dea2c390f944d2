"""A record that does not exist yet: its pages before its first form is saved.

As in REDCap, "Add new record" creates nothing. It leads to the new record's first form (and
its home page), whose address carries `?new=1`, the arm and, for an automatic number, `auto=1`.
Until the first save nothing is written: leaving or reloading these pages leaves no record and
no audit entry. The save creates the record and its form in one transaction
(`services.record_create_with_form`); an automatic number is taken then, so a number another
user took meanwhile is skipped and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils.translation import gettext as _

from opencrf.accounts.typing import AuthedRequest
from opencrf.core.errors import NotFound, PermissionDenied
from opencrf.projects.models import Arm, Project
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import MISSING_RIGHT
from opencrf.records.auditing import record_id_taken_message
from opencrf.records.models import Record
from opencrf.records.selectors import next_record_id
from opencrf.records.values import record_id_problem
from opencrf.records.views.design import arm_by_number


@dataclass(frozen=True)
class NewRecord:
    """The record a page shows before it exists: an unsaved `Record`, its arm, and whether its
    id was numbered automatically (and so may change at the save)."""

    record: Record
    arm: Arm
    auto: bool

    @property
    def query(self) -> str:
        """The query string that keeps a link on this unsaved record."""
        params = {"new": "1", "arm": str(self.arm.number)}
        if self.auto:
            params["auto"] = "1"
        return "?" + urlencode(params)


def new_record_of(
    request: AuthedRequest, project: Project, rights: Rights, record_id: str
) -> NewRecord | None:
    """The unsaved record a `?new=1` address stands for; None for an ordinary address."""
    if request.GET.get("new") != "1":
        return None
    if not rights.record_create:
        raise PermissionDenied(MISSING_RIGHT["record_create"]())
    problem = record_id_problem(record_id)
    if problem is not None:  # an id no record can have: the dashboard refuses it first
        raise NotFound(problem)
    arm = arm_by_number(request.GET.get("arm", ""), project)
    arm = arm or project.arms.order_by("number").first()
    if arm is None:
        raise NotFound(_("No such arm."))
    # Never saved: only the page reads it (a grouped member's records join their group).
    record = Record(project=project, record_id=record_id, group_id=rights.group_id)
    return NewRecord(record, arm, auto=request.GET.get("auto") == "1")


def proposed_record_id(project: Project, rights: Rights) -> str:
    """The next automatic id as the page shows it; the save takes the next free one then."""
    group = project.groups.filter(pk=rights.group_id).first() if rights.group_id else None
    return next_record_id(project, group)


def typed_id_refusal(project: Project, rights: Rights, record_id: str) -> str | None:
    """Why a typed id cannot start a new record (its form, or another record has it), else None.

    A grouped member hears the same neutral words whichever group holds the id.
    """
    problem = record_id_problem(record_id)
    if problem is not None:
        return problem
    if Record.objects.filter(project=project, record_id=record_id).exists():
        return record_id_taken_message(record_id, grouped=rights.group_id is not None)
    return None
