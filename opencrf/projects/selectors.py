"""Protected reads of projects: every page and API call fetches projects through here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import NotFound, PermissionDenied
from opencrf.projects.models import Arm, DataAccessGroup, Event, Project, ProjectMember
from opencrf.projects.rights import Rights

# The refusal for each right a page or action needs (translated when raised).
MISSING_RIGHT: dict[str, Callable[[], str]] = {
    "design": lambda: _("You do not have design rights in this project."),
    "user_rights": lambda: _("You do not have user rights in this project."),
    "data_access_groups": lambda: _("You do not have data access group rights in this project."),
    "logging": lambda: _("You do not have the logging right in this project."),
    "survey_participants": lambda: _("You may not manage survey participants in this project."),
    "record_create": lambda: _("You may not create records in this project."),
    "record_rename": lambda: _("You may not rename records in this project."),
    "record_delete": lambda: _("You may not delete records in this project."),
}


def _today() -> date:
    return timezone.localdate(timezone=timezone.get_default_timezone())


def _unexpired() -> Q:
    """Memberships in force: no expiry date, or one not yet past (in the site's time zone)."""
    return Q(expires_on__isnull=True) | Q(expires_on__gte=_today())


def projects_visible_to(user: User) -> QuerySet[Project]:
    """Administrators see every project; others those they are members of, until it expires.

    A deleted project is seen by nobody (projects/deletion.py).
    """
    projects = Project.objects.filter(deleted_at__isnull=True)
    if user.is_superuser:
        return projects
    memberships = ProjectMember.objects.filter(_unexpired(), user=user)
    return projects.filter(pk__in=memberships.values("project_id"))


def active_member(user: User, project: Project) -> ProjectMember | None:
    """The user's membership of the project if it is in force, with its role and group."""
    members = ProjectMember.objects.filter(_unexpired(), project=project, user=user)
    return members.select_related("role", "group").first()


# Apps above narrow a member's rights (randomization: a blinded allocation form is "No
# access" to blinded members); each takes the project and the rights and returns them narrowed.
RightsNarrower = Callable[[Project, Rights], Rights]
_narrowers: list[RightsNarrower] = []


def rights_narrower_register(narrower: RightsNarrower) -> None:
    if narrower not in _narrowers:
        _narrowers.append(narrower)


def member_rights(user: User, project: Project) -> Rights:
    """What `user` may do in `project`; NotFound when not a member (or no longer one).

    The role's rights apply when the member has a role, else the member's own, narrowed by
    the registered narrowers (never for administrators).
    """
    if project.deleted_at is not None:
        raise NotFound(_("No such project."))
    if user.is_superuser:
        return Rights.everything()
    member = active_member(user, project)
    if member is None:
        raise NotFound(_("No such project."))
    rights = Rights.of(member.role or member, member.group_id)
    for narrow in _narrowers:
        rights = narrow(project, rights)
    return rights


def access_project(user: User, project_id: int) -> Project:
    """The project if `user` may see it, else NotFound — the same for missing and forbidden."""
    project = projects_visible_to(user).filter(pk=project_id).first()
    if project is None:
        raise NotFound(_("No such project."))
    return project


def can_design(user: User, project: Project) -> bool:
    try:
        return member_rights(user, project).design
    except NotFound:
        return False


def access_project_with(user: User, project_id: int, right: str) -> Project:
    """The project if `user` holds `right` (a RIGHT_FLAGS name) in it.

    NotFound for a project the user cannot see, PermissionDenied for a missing right.
    """
    project = access_project(user, project_id)
    if not getattr(member_rights(user, project), right):
        raise PermissionDenied(MISSING_RIGHT[right]())
    return project


def access_project_design(user: User, project_id: int) -> Project:
    """The project if `user` may change its design, else NotFound or PermissionDenied."""
    return access_project_with(user, project_id, "design")


def project_arms(project: Project) -> QuerySet[Arm]:
    return project.arms.all()


def project_events(project: Project) -> QuerySet[Event]:
    return project.events.select_related("arm").order_by("arm__number", "position", "id")


def designated_forms(project: Project) -> dict[int, set[str]]:
    """Event id → names of the instruments designated for it."""
    mapping: dict[int, set[str]] = {}
    rows = project.events.values_list("id", "instruments__form_name")
    for event_id, form_name in rows:
        forms = mapping.setdefault(event_id, set())
        if form_name:
            forms.add(form_name)
    return mapping


def repeat_settings(project: Project) -> dict[tuple[int, str], str]:
    """(event id, form name or "" for a repeating event) → custom label."""
    rows = project.events.filter(repeats__isnull=False).values_list(
        "id", "repeats__form_name", "repeats__custom_label"
    )
    return {(event_id, form): label for event_id, form, label in rows}


def access_project_groups(user: User, project_id: int) -> Project:
    """The project if `user` may manage its data access groups.

    That needs the right, and, as in REDCap, not being bound to a group oneself.
    """
    project = access_project_with(user, project_id, "data_access_groups")
    if member_rights(user, project).group_id is not None:
        raise PermissionDenied(_("Members of a data access group cannot manage groups."))
    return project


def project_members(project: Project) -> QuerySet[ProjectMember]:
    """Every member with user, role and group, by username (one query)."""
    return (
        project.members.select_related("user", "role", "group")
        .prefetch_related("allowed_groups")
        .order_by("user__username")
    )


def switchable_groups(user: User, project: Project) -> list[DataAccessGroup]:
    """The groups the member may switch between (REDCap's DAG switcher); empty if none."""
    member = active_member(user, project)
    if member is None:
        return []
    return list(member.allowed_groups.order_by("name"))
