"""The project's design as the record pages draw it, and the helpers every page family shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from opencrf.accounts.typing import AuthedRequest
from opencrf.core.errors import NotFound
from opencrf.core.numbers import whole_number
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.dictionary.models import Instrument
from opencrf.projects.models import Arm, Event, Project
from opencrf.projects.rights import Rights


@dataclass
class Design:
    """Events, instruments, designations and repeats of a project, as the pages draw them."""

    project: Project
    events: Sequence[Event]
    instruments: Sequence[Instrument]
    designated: Mapping[int, frozenset[str]]
    repeats: Mapping[tuple[int, str], str]
    snapshot: ProjectDesign

    @classmethod
    def of(cls, project: Project, rights: Rights | None = None) -> Design:
        """The design as `rights` lets its holder see it: forms without access are left out."""
        snapshot = design_of(project)
        instruments: Sequence[Instrument] = snapshot.instruments
        if rights is not None:
            instruments = [i for i in instruments if rights.can_see_form(i.name)]
        return cls(
            project=project,
            events=snapshot.events,
            instruments=instruments,
            designated=snapshot.designated,
            repeats=snapshot.repeats,
            snapshot=snapshot,
        )

    def forms_of(self, event: Event) -> list[Instrument]:
        names = self.designated.get(event.pk, frozenset())
        return [instrument for instrument in self.instruments if instrument.name in names]

    def columns(self) -> list[tuple[Event, Instrument]]:
        """Every designated (event, form), events in order, forms in instrument order."""
        return [(event, form) for event in self.events for form in self.forms_of(event)]

    def repeats_form(self, event: Event, form_name: str) -> bool:
        return (event.pk, form_name) in self.repeats or (event.pk, "") in self.repeats

    def event_by_name(self, unique_name: str) -> Event:
        for event in self.events:
            if event.unique_name == unique_name:
                return event
        raise Http404(_("No such event."))

    def instrument(self, event: Event, form_name: str) -> Instrument:
        for instrument in self.forms_of(event):
            if instrument.name == form_name:
                return instrument
        raise Http404(_("No such form in this event."))

    def event_spans(self) -> list[tuple[Event, int]]:
        """Each event with how many dashboard columns it spans (longitudinal header row)."""
        return [(e, len(self.forms_of(e))) for e in self.events if self.forms_of(e)]

    def next_form(self, event: Event, form_name: str) -> tuple[Event, str] | None:
        """The designated form after this one: later in the event, else in the next events."""
        columns = [(e, f.name) for e, f in self.columns() if e.arm_id == event.arm_id]
        keys = [(e.pk, name) for e, name in columns]
        position = keys.index((event.pk, form_name)) if (event.pk, form_name) in keys else -1
        return columns[position + 1] if 0 <= position < len(columns) - 1 else None


def form_url(project: Project, record_id: str, event: Event, form_name: str, instance: int) -> str:
    args = [project.pk, record_id, event.unique_name, form_name, instance]
    return reverse("records:form", args=args)


def status_label(status: int | None) -> str:
    return {
        None: _("No data"),
        0: _("Incomplete"),
        1: _("Unverified"),
        2: _("Complete"),
    }.get(status, _("No data"))


def arms_with_events(design: Design) -> list[Arm]:
    """The project's arms that have events, in order: a choice only when there are several."""
    arms: dict[int, Arm] = {}
    for event in design.events:
        arms.setdefault(event.arm_id, event.arm)
    return list(arms.values()) if len(arms) > 1 else []


def posted_arm(request: AuthedRequest, project: Project) -> Arm | None:
    """The arm chosen by number in the POST (`arm`), None when none was chosen."""
    return arm_by_number(request.POST.get("arm", ""), project)


def arm_by_number(number: str, project: Project) -> Arm | None:
    """The project's arm of that number; None when none is given, NotFound for a wrong one."""
    if not number:
        return None
    wanted = whole_number(number, 6)
    arm = project.arms.filter(number=wanted).first() if wanted is not None else None
    if arm is None:
        raise NotFound(_("No such arm."))
    return arm
