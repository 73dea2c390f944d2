"""Writes to who may do what in a project: members, their rights, and roles.

Each change needs the user rights right (administrators hold every right), is audited in the
project's chain (`member.add`, `member.update`, `member.remove`, `role.create`, `role.update`,
`role.delete`) and written to the security log as `rights.changed`, in one transaction.

Two guards keep a project manageable: nobody raises their own rights (only another member
with user rights, or an administrator, can), and the last member holding user rights cannot
give them up or leave.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.accounts.services import security_event_create
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.projects.models import (
    RIGHT_FLAGS,
    ExportRight,
    FormRight,
    Project,
    ProjectMember,
    ResolutionRight,
    RightsFields,
    Role,
)
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import MISSING_RIGHT, active_member, member_rights

# How much each level gives, to tell a raise from a lowering.
FORM_LEVELS = {
    FormRight.NONE: 0,
    FormRight.READ: 1,
    FormRight.EDIT: 2,
    FormRight.SURVEY_EDIT: 3,
}
EXPORT_LEVELS = {
    ExportRight.NONE: 0,
    ExportRight.DEIDENTIFIED: 1,
    ExportRight.REMOVE_IDENTIFIERS: 2,
    ExportRight.FULL: 3,
}
# What each data resolution right lets a member do with queries: neither level is above the
# other for "respond only" and "open only", so a raise is any ability not held before.
RESOLUTION_ABILITIES: dict[str, frozenset[str]] = {
    ResolutionRight.NONE: frozenset(),
    ResolutionRight.VIEW: frozenset({"view"}),
    ResolutionRight.RESPOND: frozenset({"view", "respond"}),
    ResolutionRight.OPEN: frozenset({"view", "open"}),
    ResolutionRight.OPEN_RESPOND: frozenset({"view", "open", "respond"}),
    ResolutionRight.OPEN_CLOSE_RESPOND: frozenset({"view", "open", "respond", "close"}),
}
ROLE_NAME_ALPHABET = string.ascii_uppercase + string.digits


def _actor_rights(context: AuditContext, project: Project) -> Rights:
    """The acting user's rights, refused unless they include user rights."""
    rights = Rights.everything() if context.actor is None else member_rights(context.actor, project)
    if not rights.user_rights:
        raise PermissionDenied(MISSING_RIGHT["user_rights"]())
    return rights


def clean_rights(project: Project, values: Mapping[str, Any]) -> dict[str, Any]:
    """The rights in `values` checked: flags as booleans, the data resolution right and the
    per-instrument rights as known codes."""
    unknown = set(values) - {*RIGHT_FLAGS, "data_resolution", "form_rights", "export_rights"}
    if unknown:
        raise InvalidInput(_("Unknown rights: %(names)s") % {"names": ", ".join(sorted(unknown))})
    cleaned: dict[str, Any] = {name: bool(values[name]) for name in RIGHT_FLAGS if name in values}
    if "data_resolution" in values:
        cleaned["data_resolution"] = _resolution_right(values["data_resolution"])
    forms = set(project.instruments.values_list("name", flat=True))
    for key, levels in (("form_rights", FORM_LEVELS), ("export_rights", EXPORT_LEVELS)):
        if key not in values:
            continue
        given = dict(values[key])
        if set(given) - forms or any(level not in levels for level in given.values()):
            raise InvalidInput(_("Unknown instrument or right in the instrument rights."))
        cleaned[key] = {name: str(level) for name, level in sorted(given.items())}
    return cleaned


def _resolution_right(value: Any) -> str:
    if not isinstance(value, str) or value not in RESOLUTION_ABILITIES:
        raise InvalidInput(
            _("The data resolution workflow right “%(value)s” is unknown; it is one of: %(known)s.")
            % {"value": str(value)[:40], "known": ", ".join(ResolutionRight.values)}
        )
    return value


def rights_summary(holder: RightsFields, form_names: Iterable[str]) -> dict[str, Any]:
    """Every right of a role or member as one flat mapping, to compare and to audit.

    Instruments not listed are written out with their defaults, so a change of the design
    right that changes those defaults shows up too.
    """
    rights = Rights.of(holder, None)
    summary: dict[str, Any] = rights.flags()
    summary["data_resolution"] = str(rights.data_resolution)
    for name in form_names:
        summary[f"form:{name}"] = rights.form(name)
        summary[f"export:{name}"] = rights.export(name)
    return summary


def _member_summary(member: ProjectMember, form_names: list[str]) -> dict[str, Any]:
    summary = rights_summary(member.role or member, form_names)
    summary["role"] = member.role.unique_name if member.role else ""
    summary["expires_on"] = member.expires_on.isoformat() if member.expires_on else ""
    return summary


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {
        key: [before.get(key), after.get(key)] for key in after if before.get(key) != after[key]
    }


def _raises(changes: Mapping[str, list[Any]]) -> bool:
    """Whether any change gives more than before (a new role or expiry counts as more)."""
    for key, (old, new) in changes.items():
        if key in RIGHT_FLAGS and new and not old:
            return True
        if key == "data_resolution" and _abilities(new) - _abilities(old):
            return True
        if key.startswith("form:") and FORM_LEVELS[new] > FORM_LEVELS[old]:
            return True
        if key.startswith("export:") and EXPORT_LEVELS[new] > EXPORT_LEVELS[old]:
            return True
        if key in ("role", "expires_on") and new != old:
            return True
    return False


def _abilities(resolution: Any) -> frozenset[str]:
    return RESOLUTION_ABILITIES.get(resolution, frozenset())


def _form_names(project: Project) -> list[str]:
    return list(project.instruments.order_by("position", "id").values_list("name", flat=True))


def _holders_of_user_rights(project: Project, *, without: ProjectMember | None = None) -> int:
    members = ProjectMember.objects.filter(project=project).select_related("role")
    if without is not None:
        members = members.exclude(pk=without.pk)
    return sum(1 for member in members if (member.role or member).user_rights)


def _refuse_losing_last_manager(project: Project, member: ProjectMember) -> None:
    if _holders_of_user_rights(project, without=member) == 0:
        raise InvalidInput(
            _("The project needs at least one member with user rights; give them to another first.")
        )


def _log(
    context: AuditContext,
    project: Project,
    action: str,
    changes: Mapping[str, Any],
    *,
    user: User | None = None,
    details: str = "",
) -> None:
    audit_event_create(
        context=context, project_id=project.pk, action=action, changes=changes, details=details
    )
    security_event_create(
        kind="rights.changed",
        user=user,
        actor=context.actor,
        address=context.client_address,
        details={"project": project.pk, "action": action, "changes": dict(changes)},
    )


def _apply(holder: RightsFields, rights: Mapping[str, Any]) -> None:
    for name, value in rights.items():
        setattr(holder, name, value)


@transaction.atomic
def member_add(
    *,
    context: AuditContext,
    project: Project,
    username: str,
    rights: Mapping[str, Any] | None = None,
    role: Role | None = None,
    expires_on: date | None = None,
) -> ProjectMember:
    """Add an existing account to the project, by its exact username.

    An unknown username and an inactive account get the same refusal, so the form tells
    nothing about which accounts exist.
    """
    _actor_rights(context, project)
    user = User.objects.filter(username=username.strip(), is_active=True).first()
    if user is None:
        raise InvalidInput(_("No account with that username can be added."))
    if ProjectMember.objects.filter(project=project, user=user).exists():
        raise InvalidInput(_("%(user)s is already a member.") % {"user": user.username})
    if role is not None and role.project_id != project.pk:
        raise InvalidInput(_("No such role."))
    member = ProjectMember(project=project, user=user, role=role, expires_on=expires_on)
    _apply(member, clean_rights(project, rights or {}))
    member.save()
    summary = _member_summary(member, _form_names(project))
    changes = {"user": ["", user.username], **{k: [None, v] for k, v in summary.items()}}
    _log(context, project, "member.add", changes, user=user, details=user.username)
    return member


@transaction.atomic
def member_update(
    *,
    context: AuditContext,
    member: ProjectMember,
    rights: Mapping[str, Any] | None = None,
    role: Role | str | None = "keep",
    expires_on: date | str | None = "keep",
) -> dict[str, list[Any]]:
    """Change a member's own rights, role (None for none) or expiry; returns what changed.

    `"keep"` leaves the role or expiry as it is.
    """
    project = member.project
    actor_rights = _actor_rights(context, project)
    # A fresh, locked copy: a refusal leaves the caller's instance as it was.
    member = (
        ProjectMember.objects.select_for_update(of=("self",))
        .select_related("role", "user")
        .get(pk=member.pk)
    )
    names = _form_names(project)
    before = _member_summary(member, names)
    if role != "keep":
        if isinstance(role, Role) and role.project_id != project.pk:
            raise InvalidInput(_("No such role."))
        member.role = role if isinstance(role, Role) else None
    if expires_on != "keep":
        member.expires_on = expires_on if isinstance(expires_on, date) else None
    _apply(member, clean_rights(project, rights or {}))
    changes = _changes(before, _member_summary(member, names))
    _check_own_change(context, actor_rights, member, changes)
    if changes:
        member.save()
        _log(
            context,
            project,
            "member.update",
            changes,
            user=member.user,
            details=member.user.username,
        )
    return changes


def _check_own_change(
    context: AuditContext, actor_rights: Rights, member: ProjectMember, changes: Mapping[str, Any]
) -> None:
    if context.actor is None or member.user_id != context.actor.pk or actor_rights.is_admin:
        return
    if _raises(changes):
        raise PermissionDenied(_("You cannot raise your own rights; ask another manager."))
    if "user_rights" in changes and not changes["user_rights"][1]:
        _refuse_losing_last_manager(member.project, member)


@transaction.atomic
def member_remove(*, context: AuditContext, member: ProjectMember) -> None:
    """Take a member out of the project; the last member with user rights stays."""
    project = member.project
    actor_rights = _actor_rights(context, project)
    if (member.role or member).user_rights and not actor_rights.is_admin:
        _refuse_losing_last_manager(project, member)
    username = member.user.username
    user = member.user
    member.delete()
    _log(context, project, "member.remove", {"user": [username, ""]}, user=user, details=username)


def _unique_role_name(project: Project) -> str:
    """REDCap's form: `U-` and ten upper-case letters or digits, unused in the project."""
    taken = set(project.roles.values_list("unique_name", flat=True))
    while True:
        name = "U-" + "".join(secrets.choice(ROLE_NAME_ALPHABET) for _ in range(10))
        if name not in taken:
            return name


def _role_name(project: Project, name: str, role: Role | None = None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput(_("A role needs a name."))
    others = project.roles.exclude(pk=role.pk) if role is not None else project.roles.all()
    if others.filter(name=name).exists():
        raise InvalidInput(_("A role named %(name)s exists already.") % {"name": name})
    return name


@transaction.atomic
def role_create(
    *, context: AuditContext, project: Project, name: str, rights: Mapping[str, Any] | None = None
) -> Role:
    _actor_rights(context, project)
    role = Role(
        project=project, name=_role_name(project, name), unique_name=_unique_role_name(project)
    )
    _apply(role, clean_rights(project, rights or {}))
    role.save()
    summary = rights_summary(role, _form_names(project))
    changes = {"name": ["", role.name], **{k: [None, v] for k, v in summary.items()}}
    _log(context, project, "role.create", changes, details=role.unique_name)
    return role


@transaction.atomic
def role_update(
    *,
    context: AuditContext,
    role: Role,
    name: str | None = None,
    rights: Mapping[str, Any] | None = None,
) -> dict[str, list[Any]]:
    """Rename a role or change its rights (for every member who holds it)."""
    project = role.project
    actor_rights = _actor_rights(context, project)
    role = Role.objects.select_for_update().get(pk=role.pk)
    names = _form_names(project)
    before = {"name": role.name, **rights_summary(role, names)}
    if name is not None:
        role.name = _role_name(project, name, role)
    _apply(role, clean_rights(project, rights or {}))
    changes = _changes(before, {"name": role.name, **rights_summary(role, names)})
    own = active_member(context.actor, project) if context.actor is not None else None
    if own is not None and own.role_id == role.pk and not actor_rights.is_admin:
        if _raises(changes):
            raise PermissionDenied(_("You cannot raise your own rights; ask another manager."))
        if "user_rights" in changes and not changes["user_rights"][1]:
            _refuse_losing_last_manager_role(project, role)
    if changes:
        role.save()
        _log(context, project, "role.update", changes, details=role.unique_name)
    return changes


def _refuse_losing_last_manager_role(project: Project, role: Role) -> None:
    others = ProjectMember.objects.filter(project=project).exclude(role=role).select_related("role")
    if not any((member.role or member).user_rights for member in others):
        raise InvalidInput(
            _("The project needs at least one member with user rights; give them to another first.")
        )


@transaction.atomic
def role_delete(*, context: AuditContext, role: Role) -> None:
    """Delete a role that nobody holds; REDCap refuses to delete a role with members too."""
    project = role.project
    _actor_rights(context, project)
    if role.members.exists():
        raise InvalidInput(
            _("Role %(name)s still has members; give them another role first.")
            % {"name": role.name}
        )
    unique_name, name = role.unique_name, role.name
    role.delete()
    _log(context, project, "role.delete", {"name": [name, ""]}, details=unique_name)
