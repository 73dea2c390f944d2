"""What scheduling hangs on the records app (which may not import it), from AppConfig.ready:

- after a commit that wrote the form holding an arm's start date field, the schedules of the
  records written follow their start date (records.hooks.form_saved_register);
- a record's home page shows its schedule (records.page_hooks.record_panel_register).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from opencrf.audit.services import AuditContext
from opencrf.projects.models import Arm, Project
from opencrf.records.hooks import FormKey
from opencrf.records.page_hooks import RecordPage
from opencrf.scheduling import selectors
from opencrf.scheduling.models import Schedule, ScheduleAnchor
from opencrf.scheduling.services import date_fields, schedules_sync


def forms_saved(project: Project, keys: Collection[FormKey]) -> None:
    """Rebuild the schedules whose start date field may have changed in this save."""
    anchors = ScheduleAnchor.objects.filter(project=project).values_list("event_id", "field_name")
    if not anchors:
        return
    fields = date_fields(project)
    places = {(event_id, fields.get(field_name)) for event_id, field_name in anchors}
    written = {key.record_id for key in keys if (key.event_id, key.form_name) in places}
    if written:
        schedules_sync(context=AuditContext.system(), project=project, record_keys=written)


@dataclass(frozen=True)
class ArmSchedule:
    """One arm of the record on its page: the start date field, the schedule and its visits."""

    arm: Arm
    anchor: ScheduleAnchor | None
    schedule: Schedule | None
    visits: list[selectors.VisitRow]


def record_schedule_panel(page: RecordPage) -> SafeString | None:
    """The record's visits with their windows and statuses, and the ways to change them."""
    arms = {event.arm_id: event.arm for event in page.events}
    if not page.project.is_longitudinal or not arms:  # REDCap schedules longitudinal projects
        return None
    today = timezone.localdate()
    found = {
        schedule.arm_id: (schedule, visits)
        for schedule, visits in selectors.record_schedules(page.record)
    }
    anchors = selectors.project_anchors(page.project)
    rows = []
    for arm in arms.values():
        schedule, visits = found.get(arm.pk, (None, []))
        rows.append(
            ArmSchedule(arm, anchors.get(arm.pk), schedule, selectors.visit_rows(visits, today))
        )
    context = {
        "project": page.project,
        "record": page.record,
        "arms": rows,
        "may_edit": selectors.may_edit_schedules(page.rights),
        "several_arms": len(arms) > 1,
    }
    return SafeString(render_to_string("scheduling/record_panel.html", context, page.request))
