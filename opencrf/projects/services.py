"""Writes to a project's set-up. Each is named `<entity>_<verb>` and audits in its transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, AuditTarget, audit_event_create
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.projects.models import (
    RIGHT_FLAGS,
    Arm,
    DataAccessGroup,
    Event,
    EventInstrument,
    Project,
    ProjectMember,
    ProjectStatus,
    Purpose,
    RepeatSetting,
    ResolutionRight,
)
from opencrf.projects.naming import unique_event_name, unique_group_name
from opencrf.projects.selectors import MISSING_RIGHT, member_rights

SETTINGS_FIELDS = (
    "title",
    "purpose",
    "purpose_other",
    "notes",
    "is_longitudinal",
    "surveys_enabled",
    "survey_ip_recorded",
    "record_autonumbering",
    "custom_record_label",
    "require_change_reason",
    "field_notes",
)


# The right each set-up change needs, by audit action; design for every other one.
RIGHT_OF_ACTION = {
    "group.create": "data_access_groups",
    "group.update": "data_access_groups",
    "group.delete": "data_access_groups",
    "member.group": "data_access_groups",
    "member.switch": "",  # checked against the member's allowed groups instead
}


def _audit(context: AuditContext, project: Project, action: str, **kwargs: Any) -> None:
    """Audit a change to a project's set-up; every such change is a new design version.

    The acting user must hold the right the change needs (design for most); a refusal here
    rolls the whole change back, so no service can skip it.
    """
    right = RIGHT_OF_ACTION.get(action, "design")
    if (
        right
        and context.actor is not None
        and not getattr(member_rights(context.actor, project), right)
    ):
        raise PermissionDenied(MISSING_RIGHT[right]())
    design_changed(project)
    audit_event_create(context=context, project_id=project.pk, action=action, **kwargs)


def design_changed(project: Project) -> None:
    """Mark the project's design as changed, so that no process keeps using an older copy.

    Call inside the transaction that changes arms, events, designations, repeat settings,
    groups or the dictionary.
    """
    Project.objects.filter(pk=project.pk).update(design_version=F("design_version") + 1)
    project.design_version += 1


@transaction.atomic
def project_create(
    *,
    context: AuditContext,
    title: str,
    purpose: int = Purpose.RESEARCH,
    is_longitudinal: bool = False,
    notes: str = "",
    purpose_other: str = "",
    surveys_enabled: bool = False,
) -> Project:
    """A new project in development, with arm 1 and its first event, its creator a designer."""
    title = title.strip()
    if not title:
        raise InvalidInput(_("A project needs a title."))
    project = Project.objects.create(
        title=title,
        purpose=purpose,
        purpose_other=purpose_other,
        notes=notes,
        is_longitudinal=is_longitudinal,
        surveys_enabled=surveys_enabled,
        created_by=context.actor,
    )
    arm = Arm.objects.create(project=project, number=1, name=_("Arm 1"))
    Event.objects.create(project=project, arm=arm, name=_("Event 1"), unique_name="event_1_arm_1")
    if context.actor is not None:
        # As in REDCap, the creator holds every right and sees every record.
        ProjectMember.objects.create(
            project=project,
            user=context.actor,
            **dict.fromkeys(RIGHT_FLAGS, True),
            data_resolution=ResolutionRight.OPEN_CLOSE_RESPOND,
        )
    _audit(context, project, "project.create", details=f"Create project: {title}")
    return project


@transaction.atomic
def project_update_settings(
    *, context: AuditContext, project: Project, values: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """Change the project's settings; returns {setting: [old, new]} for what changed."""
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise InvalidInput(_("Unknown settings: %(names)s") % {"names": ", ".join(sorted(unknown))})
    if "title" in values and not str(values["title"]).strip():
        raise InvalidInput(_("A project needs a title."))
    if values.get("is_longitudinal") is False and project.is_longitudinal:
        _refuse_classic_with_several_events(project)
    changes = {
        name: [getattr(project, name), value]
        for name, value in values.items()
        if getattr(project, name) != value
    }
    for name, (_old, new) in changes.items():
        setattr(project, name, new)
    if changes:
        project.save(update_fields=list(changes))
        _audit(
            context, project, "project.update", changes=changes, details="Modify project settings"
        )
    return changes


def _refuse_classic_with_several_events(project: Project) -> None:
    if project.events.count() > 1 or project.arms.count() > 1:
        raise InvalidInput(
            _("A project with several arms or events cannot become classic; remove them first.")
        )


def _refuse_unless_development(project: Project, what: str) -> None:
    if project.status != ProjectStatus.DEVELOPMENT:
        raise InvalidInput(
            _("%(what)s can only be changed while the project is in development.") % {"what": what}
        )


def _require_longitudinal(project: Project) -> None:
    if not project.is_longitudinal:
        raise InvalidInput(_("Arms and events can only be defined in a longitudinal project."))


@transaction.atomic
def arm_create(*, context: AuditContext, project: Project, number: int, name: str) -> Arm:
    _require_longitudinal(project)
    _refuse_unless_development(project, _("Arms"))
    name = name.strip()
    if not name:
        raise InvalidInput(_("An arm needs a name."))
    if number < 1 or project.arms.filter(number=number).exists():
        raise InvalidInput(_("Arm number %(number)s is taken or invalid.") % {"number": number})
    arm = Arm.objects.create(project=project, number=number, name=name)
    _audit(context, project, "arm.create", details=f"Create arm {number}: {name}")
    return arm


@transaction.atomic
def arm_rename(*, context: AuditContext, arm: Arm, name: str) -> Arm:
    name = name.strip()
    if not name:
        raise InvalidInput(_("An arm needs a name."))
    old = arm.name
    arm.name = name
    arm.save(update_fields=["name"])
    _audit(context, arm.project, "arm.update", changes={"name": [old, name]})
    return arm


@transaction.atomic
def arm_delete(*, context: AuditContext, arm: Arm) -> None:
    project = arm.project
    _refuse_unless_development(project, _("Arms"))
    if project.arms.count() == 1:
        raise InvalidInput(_("A project keeps at least one arm."))
    number = arm.number
    arm.delete()
    _audit(context, project, "arm.delete", details=f"Delete arm {number}")


@transaction.atomic
def event_create(
    *,
    context: AuditContext,
    arm: Arm,
    name: str,
    day_offset: int = 0,
    offset_min: int = 0,
    offset_max: int = 0,
    custom_label: str = "",
    unique_name: str = "",
) -> Event:
    """Add an event at the end of its arm; its unique name follows REDCap unless given."""
    project = arm.project
    _require_longitudinal(project)
    _check_event_values(name, offset_min, offset_max)
    taken = set(project.events.values_list("unique_name", flat=True))
    if unique_name and unique_name in taken:
        raise InvalidInput(_("The unique event name %(name)s is taken.") % {"name": unique_name})
    event = Event.objects.create(
        project=project,
        arm=arm,
        name=name.strip(),
        unique_name=unique_name or unique_event_name(name, arm.number, taken),
        position=arm.events.count() + 1,
        day_offset=day_offset,
        offset_min=offset_min,
        offset_max=offset_max,
        custom_label=custom_label.strip(),
    )
    _audit(
        context,
        project,
        "event.create",
        target=AuditTarget(event=event.unique_name),
        details=event.name,
    )
    return event


def _check_event_values(name: str, offset_min: int, offset_max: int) -> None:
    if not name.strip():
        raise InvalidInput(_("An event needs a name."))
    if offset_min < 0 or offset_max < 0:
        raise InvalidInput(_("A window cannot be negative."))


@transaction.atomic
def event_update(*, context: AuditContext, event: Event, values: Mapping[str, Any]) -> Event:
    """Rename an event or change its offset and window; its unique name never changes."""
    allowed = {"name", "day_offset", "offset_min", "offset_max", "custom_label"}
    if set(values) - allowed:
        raise InvalidInput(_("These event settings cannot be changed here."))
    merged = {name: values.get(name, getattr(event, name)) for name in allowed}
    _check_event_values(merged["name"], merged["offset_min"], merged["offset_max"])
    changes = {k: [getattr(event, k), v] for k, v in merged.items() if getattr(event, k) != v}
    for name, (_old, new) in changes.items():
        setattr(event, name, new)
    if changes:
        event.save(update_fields=list(changes))
        _audit(
            context,
            event.project,
            "event.update",
            target=AuditTarget(event=event.unique_name),
            changes=changes,
        )
    return event


@transaction.atomic
def event_delete(*, context: AuditContext, event: Event) -> None:
    project = event.project
    _refuse_unless_development(project, _("Events"))
    if project.events.count() == 1:
        raise InvalidInput(_("A project keeps at least one event."))
    unique_name = event.unique_name
    event.delete()
    _audit(context, project, "event.delete", target=AuditTarget(event=unique_name))


@transaction.atomic
def event_instruments_set(
    *,
    context: AuditContext,
    project: Project,
    designations: Iterable[tuple[int, str]],
    known_forms: Iterable[str],
) -> int:
    """Replace the instrument–event designations with `(event id, form name)` pairs."""
    _require_longitudinal(project)
    events = {event.pk: event for event in project.events.all()}
    forms = set(known_forms)
    wanted = set(designations)
    for event_id, form_name in wanted:
        if event_id not in events or form_name not in forms:
            raise InvalidInput(
                _("Unknown event or instrument in the designation: %(form)s") % {"form": form_name}
            )
    current = set(
        EventInstrument.objects.filter(event__project=project).values_list("event_id", "form_name")
    )
    if current == wanted:
        return len(wanted)
    EventInstrument.objects.filter(event__project=project).delete()
    EventInstrument.objects.bulk_create(
        EventInstrument(event=events[event_id], form_name=form) for event_id, form in sorted(wanted)
    )
    added = sorted(f"{events[e].unique_name}:{f}" for e, f in wanted - current)
    removed = sorted(f"{events[e].unique_name}:{f}" for e, f in current - wanted)
    _audit(context, project, "mapping.update", changes={"added": added, "removed": removed})
    return len(wanted)


@transaction.atomic
def repeat_settings_set(
    *,
    context: AuditContext,
    project: Project,
    settings: Mapping[tuple[int, str], str],
    known_forms: Iterable[str],
) -> int:
    """Replace the repeat set-up: `(event id, form name or "")` → custom label."""
    events = {event.pk: event for event in project.events.all()}
    forms = set(known_forms)
    for (event_id, form_name), _label in settings.items():
        if event_id not in events or (form_name and form_name not in forms):
            raise InvalidInput(_("Unknown event or instrument in the repeat set-up."))
    repeating_events = {event_id for event_id, form in settings if not form}
    if any(form and event_id in repeating_events for event_id, form in settings):
        raise InvalidInput(_("An event repeats as a whole or has repeating instruments, not both."))
    before = {
        (r.event_id, r.form_name): r.custom_label
        for r in RepeatSetting.objects.filter(event__project=project)
    }
    if before != dict(settings):
        RepeatSetting.objects.filter(event__project=project).delete()
        RepeatSetting.objects.bulk_create(
            RepeatSetting(event=events[e], form_name=f, custom_label=label.strip())
            for (e, f), label in sorted(settings.items())
        )
        _audit(context, project, "repeat.update", changes=_repeat_changes(events, before, settings))
    return len(settings)


def _repeat_changes(
    events: Mapping[int, Event],
    before: Mapping[tuple[int, str], str],
    after: Mapping[tuple[int, str], str],
) -> dict[str, list[str]]:
    def names(keys: Iterable[tuple[int, str]]) -> list[str]:
        return sorted(f"{events[e].unique_name}:{f or '*'}" for e, f in keys)

    return {"added": names(set(after) - set(before)), "removed": names(set(before) - set(after))}


@transaction.atomic
def group_create(
    *, context: AuditContext, project: Project, name: str, unique_name: str = ""
) -> DataAccessGroup:
    _group_manager(context, project)
    name = name.strip()
    if not name:
        raise InvalidInput(_("A data access group needs a name."))
    taken = set(project.groups.values_list("unique_name", flat=True))
    if unique_name and unique_name in taken:
        raise InvalidInput(_("The unique group name %(name)s is taken.") % {"name": unique_name})
    group = DataAccessGroup.objects.create(
        project=project, name=name, unique_name=unique_name or unique_group_name(name, taken)
    )
    _audit(context, project, "group.create", details=f"{group.unique_name}: {name}")
    return group


def _group_manager(context: AuditContext, project: Project) -> None:
    """Refuse unless the actor may manage groups: the right, and not bound to a group."""
    if context.actor is None:
        return
    rights = member_rights(context.actor, project)
    if not rights.data_access_groups:
        raise PermissionDenied(MISSING_RIGHT["data_access_groups"]())
    if rights.group_id is not None:
        raise PermissionDenied(_("Members of a data access group cannot manage groups."))


@transaction.atomic
def group_rename(*, context: AuditContext, group: DataAccessGroup, name: str) -> DataAccessGroup:
    """Give a group a new display name; its unique name, used by the API, stays."""
    _group_manager(context, group.project)
    name = name.strip()
    if not name:
        raise InvalidInput(_("A data access group needs a name."))
    old = group.name
    if old == name:
        return group
    group.name = name
    group.save(update_fields=["name"])
    _audit(
        context,
        group.project,
        "group.update",
        changes={"name": [old, name]},
        details=group.unique_name,
    )
    return group


@transaction.atomic
def group_delete(*, context: AuditContext, group: DataAccessGroup) -> None:
    """Delete a group that holds no records and has no members.

    REDCap refuses to delete a group with records. A group with members is refused too:
    deleting it would leave them in no group, which means seeing every record.
    """
    project = group.project
    _group_manager(context, project)
    if group.records.exists():
        raise InvalidInput(
            _("Group %(name)s holds records; move or delete them before deleting the group.")
            % {"name": group.name}
        )
    if group.members.exists():
        raise InvalidInput(
            _("Group %(name)s has members; assign them elsewhere before deleting the group.")
            % {"name": group.name}
        )
    unique_name = group.unique_name
    group.delete()
    _audit(context, project, "group.delete", details=unique_name)


def _group_names(groups: Iterable[DataAccessGroup]) -> list[str]:
    return sorted(group.unique_name for group in groups)


@transaction.atomic
def member_group_set(
    *,
    context: AuditContext,
    member: ProjectMember,
    group: DataAccessGroup | None,
    allowed: Iterable[DataAccessGroup] = (),
) -> dict[str, list[Any]]:
    """Put a member in one group (None: no group, sees every record) and set the groups the
    member may switch between (REDCap's DAG switcher); the current group is always allowed.
    """
    project = member.project
    _group_manager(context, project)
    allowed_set = {g.pk: g for g in allowed}
    if group is not None:
        allowed_set[group.pk] = group
    if any(g.project_id != project.pk for g in allowed_set.values()):
        raise InvalidInput(_("No such data access group."))
    if group is None and allowed_set:
        raise InvalidInput(_("A member who may switch groups must be in one of them."))
    old_group = member.group.unique_name if member.group else ""
    old_allowed = _group_names(member.allowed_groups.all())
    new_allowed = _group_names(allowed_set.values()) if len(allowed_set) > 1 else []
    changes: dict[str, list[Any]] = {}
    if old_group != (group.unique_name if group else ""):
        changes["group"] = [old_group, group.unique_name if group else ""]
    if old_allowed != new_allowed:
        changes["allowed_groups"] = [old_allowed, new_allowed]
    if changes:
        member.group = group
        member.save(update_fields=["group"])
        member.allowed_groups.set(list(allowed_set.values()) if len(allowed_set) > 1 else [])
        _audit(context, project, "member.group", changes=changes, details=member.user.username)
    return changes


@transaction.atomic
def member_group_switch(
    *, context: AuditContext, project: Project, group: DataAccessGroup
) -> ProjectMember:
    """Switch the acting member's current group to another one they are allowed."""
    if context.actor is None:
        raise PermissionDenied(_("Only a member can switch groups."))
    member = ProjectMember.objects.filter(project=project, user=context.actor).first()
    if member is None or not member.allowed_groups.filter(pk=group.pk).exists():
        raise NotFound(_("No such data access group."))
    old = member.group.unique_name if member.group else ""
    if member.group_id != group.pk:
        member.group = group
        member.save(update_fields=["group"])
        _audit(
            context,
            project,
            "member.switch",
            changes={"group": [old, group.unique_name]},
            details=member.user.username,
        )
    return member


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event as the API and set-up files describe it."""

    name: str
    arm_number: int
    unique_name: str = ""
    day_offset: int = 0
    offset_min: int = 0
    offset_max: int = 0
    custom_label: str = ""


@transaction.atomic
def arms_events_replace(
    *,
    context: AuditContext,
    project: Project,
    arms: Sequence[tuple[int, str]],
    events: Sequence[EventSpec],
) -> list[Event]:
    """Replace every arm and event (with their designations) in a development project."""
    _require_longitudinal(project)
    _refuse_unless_development(project, _("Arms and events"))
    _check_arms_events(arms, events)
    project.arms.all().delete()
    created_arms = {
        number: Arm.objects.create(project=project, number=number, name=name.strip())
        for number, name in arms
    }
    created: list[Event] = []
    # Names given explicitly are reserved first, so a generated name never takes one.
    taken = {spec.unique_name for spec in events if spec.unique_name}
    for spec in events:
        arm = created_arms[spec.arm_number]
        unique = spec.unique_name or unique_event_name(spec.name, arm.number, taken)
        taken.add(unique)
        created.append(
            Event.objects.create(
                project=project,
                arm=arm,
                name=spec.name.strip(),
                unique_name=unique,
                position=sum(1 for event in created if event.arm_id == arm.pk) + 1,
                day_offset=spec.day_offset,
                offset_min=spec.offset_min,
                offset_max=spec.offset_max,
                custom_label=spec.custom_label,
            )
        )
    _audit(context, project, "event.replace", details=f"{len(arms)} arm(s), {len(events)} event(s)")
    return created


def _check_arms_events(arms: Sequence[tuple[int, str]], events: Sequence[EventSpec]) -> None:
    numbers = [number for number, _name in arms]
    if not arms or len(set(numbers)) != len(numbers) or min(numbers) < 1:
        raise InvalidInput(_("Arm numbers must be distinct whole numbers from 1."))
    if any(not name.strip() for _number, name in arms):
        raise InvalidInput(_("An arm needs a name."))
    if not events:
        raise InvalidInput(_("A project keeps at least one event."))
    given = [spec.unique_name for spec in events if spec.unique_name]
    if len(set(given)) != len(given):
        raise InvalidInput(_("Unique event names must not repeat."))
    for spec in events:
        if spec.arm_number not in numbers:
            raise InvalidInput(
                _("Event %(event)s names arm %(arm)s, which does not exist.")
                % {"event": spec.name, "arm": spec.arm_number}
            )
        _check_event_values(spec.name, spec.offset_min, spec.offset_max)
