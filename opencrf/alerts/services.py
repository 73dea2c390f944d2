"""Setting alerts up: create, change, enable or disable, copy, delete — each audited.

Only members with the alerts right manage alerts. A member of a data access group manages
only the alerts of that group, and the alerts they make belong to it (`Alert.group`): such an
alert fires only for the group's records, so nobody can mail themselves another site's data.
Saving any alert raises the project's design version, so every process reads its compiled
alerts again (`evaluation.compiled_alerts`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from opencrf.accounts.mail import one_line
from opencrf.alerts.evaluation import cancel_waiting
from opencrf.alerts.models import Alert, FireMode, Language, RepeatUnit, Trigger
from opencrf.alerts.recipients import fixed_addresses
from opencrf.audit.services import AuditContext, AuditEntry, AuditTarget, audit_events_create
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.logic import LogicSyntaxError, parse, references
from opencrf.projects.models import Event, Project, ProjectMember, Role
from opencrf.projects.rights import Rights
from opencrf.projects.services import design_changed
from opencrf.records.services import acting_rights

MAX_TITLE = 200
MAX_SUBJECT = 300
MAX_BODY = 20_000
MAX_ADDRESSES = 50
MAX_DELAY_MINUTES = 366 * 24 * 60
MAX_REPEATS = 100
MAX_OVERDUE_DAYS = 366
SETTINGS = (
    "title",
    "trigger",
    "form_name",
    "event_id",
    "condition_logic",
    "fire_mode",
    "date_logic",
    "overdue_days",
    "user_ids",
    "role_ids",
    "email_fields",
    "addresses",
    "language",
    "subject_ja",
    "body_ja",
    "subject_en",
    "body_en",
    "attach_fields",
    "delay_minutes",
    "repeat_every",
    "repeat_unit",
    "repeat_max",
    "cancel_when_false",
)


def require_alerts_right(context: AuditContext, project: Project) -> Rights:
    rights = acting_rights(context, project)
    if not rights.alerts:
        raise PermissionDenied(_("You need the Alerts & Notifications right."))
    return rights


def alerts_visible(rights: Rights, project: Project) -> QuerySet[Alert]:
    """The alerts a member may see and manage: a group member, only those of the group."""
    rows = Alert.objects.filter(project=project).select_related("event", "group")
    if rights.group_id is not None:
        rows = rows.filter(group_id=rights.group_id)
    return rows


def access_alert(rights: Rights, project: Project, alert_id: int) -> Alert:
    """The alert if the member may manage it; NotFound for another group's or a missing one."""
    found = alerts_visible(rights, project).filter(pk=alert_id).first()
    if found is None:
        raise NotFound(_("No such alert."))
    return found


@dataclass(frozen=True)
class AlertSettings:
    """An alert's settings as typed on its page (or copied from another alert)."""

    title: str
    subject_ja: str = ""
    body_ja: str = ""
    subject_en: str = ""
    body_en: str = ""
    trigger: str = Trigger.SAVE
    form_name: str = ""
    event_id: int | None = None
    condition_logic: str = ""
    fire_mode: str = FireMode.BECAME_TRUE
    date_logic: str = ""
    overdue_days: int = 1
    user_ids: list[int] = field(default_factory=list)
    role_ids: list[int] = field(default_factory=list)
    email_fields: list[str] = field(default_factory=list)
    addresses: str = ""
    language: str = Language.JA
    attach_fields: list[str] = field(default_factory=list)
    delay_minutes: int = 0
    repeat_every: int = 0
    repeat_unit: str = RepeatUnit.DAYS
    repeat_max: int = 0
    cancel_when_false: bool = True

    @classmethod
    def of(cls, alert: Alert) -> AlertSettings:
        return cls(**{name: getattr(alert, name) for name in SETTINGS})

    def problems(self, project: Project, design: ProjectDesign) -> list[str]:
        found = _text_problems(self)
        found += _trigger_problems(self, project, design)
        found += _recipient_problems(self, project, design)
        found += _timing_problems(self)
        return found


def _text_problems(s: AlertSettings) -> list[str]:
    found = []
    if not s.title.strip() or len(s.title) > MAX_TITLE:
        found.append(_("Give the alert a title of at most %(n)d characters.") % {"n": MAX_TITLE})
    if not (s.subject_ja.strip() or s.subject_en.strip()):
        found.append(_("Write a subject in Japanese or English."))
    if not (s.body_ja.strip() or s.body_en.strip()):
        found.append(_("Write a message in Japanese or English."))
    if max(len(s.subject_ja), len(s.subject_en)) > MAX_SUBJECT:
        found.append(_("The subject is longer than %(n)d characters.") % {"n": MAX_SUBJECT})
    if max(len(s.body_ja), len(s.body_en)) > MAX_BODY:
        found.append(_("The message is longer than %(n)d characters.") % {"n": MAX_BODY})
    if s.language not in Language.values:
        found.append(_("Choose the language of recipients who are not users."))
    return found


def _trigger_problems(s: AlertSettings, project: Project, design: ProjectDesign) -> list[str]:
    found = []
    if s.trigger not in Trigger.values:
        found.append(_("Choose what triggers the alert."))
    forms = {instrument.name for instrument in design.instruments}
    if s.form_name and s.form_name not in forms:
        found.append(_("No form named %(name)s.") % {"name": s.form_name})
    if s.event_id is not None and not any(e.pk == s.event_id for e in design.events):
        found.append(_("No such event."))
    if s.fire_mode not in FireMode.values:
        found.append(_("Choose when the condition fires the alert."))
    if s.condition_logic.strip() and (problem := logic_problem(s.condition_logic, design)):
        found.append(_("The condition is not valid logic: %(error)s") % {"error": problem})
    if s.trigger == Trigger.DATE:
        if not s.date_logic.strip():
            found.append(_("Write the logic that computes the date."))
        elif problem := logic_problem(s.date_logic, design):
            found.append(_("The date is not valid logic: %(error)s") % {"error": problem})
    least = 1 if s.trigger == Trigger.OVERDUE else 0
    if not least <= s.overdue_days <= MAX_OVERDUE_DAYS:
        found.append(
            _("Days after the window end must be from 1 to %(n)d.") % {"n": MAX_OVERDUE_DAYS}
        )
    return found


def logic_problem(text: str, design: ProjectDesign) -> str:
    """What is wrong with an alert's logic: its syntax, or fields the project does not have."""
    try:
        ast = parse(text)
    except LogicSyntaxError as error:
        return str(error)
    names = {row.field_name for row in design.rows}
    names |= {f"{instrument.name}_complete" for instrument in design.instruments}
    unknown = sorted({name for _event, name in references(ast)} - names)
    if unknown:
        return _("no field named %(names)s") % {"names": ", ".join(unknown)}
    return ""


def _recipient_problems(s: AlertSettings, project: Project, design: ProjectDesign) -> list[str]:
    found = []
    members = set(ProjectMember.objects.filter(project=project).values_list("user_id", flat=True))
    if any(pk not in members for pk in s.user_ids):
        found.append(_("A chosen user is not a member of this project."))
    roles = set(Role.objects.filter(project=project).values_list("pk", flat=True))
    if any(pk not in roles for pk in s.role_ids):
        found.append(_("No such role in this project."))
    types = {row.field_name: row.field_type for row in design.rows}
    for name in s.email_fields:
        if types.get(name) != "text":
            found.append(_("%(name)s is not a text field of this project.") % {"name": name})
    for name in s.attach_fields:
        if types.get(name) != "file":
            found.append(_("%(name)s is not a file field of this project.") % {"name": name})
    addresses, bad = fixed_addresses(s.addresses)
    if bad:
        found.append(_("Not an e-mail address: %(address)s") % {"address": ", ".join(bad)})
    if len(addresses) > MAX_ADDRESSES:
        found.append(_("Give at most %(n)d fixed addresses.") % {"n": MAX_ADDRESSES})
    if not (s.user_ids or s.role_ids or s.email_fields or addresses):
        found.append(_("Choose at least one recipient."))
    return found


def _timing_problems(s: AlertSettings) -> list[str]:
    found = []
    if not 0 <= s.delay_minutes <= MAX_DELAY_MINUTES:
        found.append(_("The delay is out of range."))
    if s.repeat_unit not in RepeatUnit.values:
        found.append(_("Choose the unit of the repeat."))
    if s.repeat_every < 0 or not 0 <= s.repeat_max <= MAX_REPEATS:
        found.append(_("Repeat at most %(n)d times.") % {"n": MAX_REPEATS})
    if s.repeat_every and not s.repeat_max:
        found.append(_("Say how many times to repeat."))
    return found


def _check(context: AuditContext, project: Project, settings: AlertSettings) -> None:
    problems = settings.problems(project, design_of(project))
    if problems:
        raise InvalidInput(" ".join(problems))


def _clean(settings: AlertSettings) -> dict[str, Any]:
    values = asdict(settings)
    values["title"] = one_line(settings.title)
    values["subject_ja"] = one_line(settings.subject_ja)
    values["subject_en"] = one_line(settings.subject_en)
    return values


def alert_target(alert: Alert) -> AuditTarget:
    return AuditTarget(instrument=alert.form_name, extra={"alert": alert.pk})


def _audit(context: AuditContext, alert: Alert, action: str, changes: dict[str, Any]) -> None:
    entry = AuditEntry(action, alert_target(alert), changes, details=f"alert {alert.pk}")
    audit_events_create(context=context, project_id=alert.project_id, entries=[entry])


def _shown(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | str | list) else str(value)


@transaction.atomic
def alert_create(*, context: AuditContext, project: Project, settings: AlertSettings) -> Alert:
    rights = require_alerts_right(context, project)
    _check(context, project, settings)
    alert = Alert(project=project, group_id=rights.group_id, created_by=context.actor)
    for name, value in _clean(settings).items():
        setattr(alert, name, value)
    alert.save()
    design_changed(project)
    changes = {name: [None, _shown(getattr(alert, name))] for name in SETTINGS}
    _audit(context, alert, "alert.create", changes)
    return alert


@transaction.atomic
def alert_update(*, context: AuditContext, alert: Alert, settings: AlertSettings) -> Alert:
    project = alert.project
    rights = require_alerts_right(context, project)
    alert = access_alert(rights, project, alert.pk)
    _check(context, project, settings)
    changes = {}
    for name, value in _clean(settings).items():
        if getattr(alert, name) != value:
            changes[name] = [_shown(getattr(alert, name)), _shown(value)]
            setattr(alert, name, value)
    if changes:
        alert.save()
        design_changed(project)
        _audit(context, alert, "alert.update", changes)
    return alert


@transaction.atomic
def alert_set_active(*, context: AuditContext, alert: Alert, active: bool) -> Alert:
    project = alert.project
    alert = access_alert(require_alerts_right(context, project), project, alert.pk)
    if alert.active != active:
        changes = {"active": [alert.active, active]}
        alert.active = active
        alert.save(update_fields=["active", "updated_at"])
        design_changed(project)
        _audit(context, alert, "alert.enable" if active else "alert.disable", changes)
    return alert


@transaction.atomic
def alert_copy(*, context: AuditContext, alert: Alert) -> Alert:
    """A disabled copy of `alert`, titled as a copy, in the copier's group."""
    project = alert.project
    rights = require_alerts_right(context, project)
    source = access_alert(rights, project, alert.pk)
    settings = AlertSettings.of(source)
    title = (_("Copy of %(title)s") % {"title": source.title})[:MAX_TITLE]
    copy = Alert(project=project, group_id=rights.group_id, created_by=context.actor, active=False)
    for name, value in _clean(settings).items():
        setattr(copy, name, value)
    copy.title = title
    copy.save()
    design_changed(project)
    changes = {name: [None, _shown(getattr(copy, name))] for name in SETTINGS}
    _audit(context, copy, "alert.copy", {**changes, "copy_of": [None, source.pk]})
    return copy


@transaction.atomic
def alert_delete(*, context: AuditContext, alert: Alert) -> None:
    """Delete the alert and cancel what it still had to send; its log stays."""
    project = alert.project
    alert = access_alert(require_alerts_right(context, project), project, alert.pk)
    cancel_waiting(context, alert, reason="[alert-deleted]")
    _audit(context, alert, "alert.delete", {"title": [alert.title, None]})
    alert.delete()
    design_changed(project)


def project_events_of(project: Project) -> list[Event]:
    return list(design_of(project).events)
