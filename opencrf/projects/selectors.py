"""Protected reads of projects: every page and API call fetches projects through here."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.core.errors import NotFound, PermissionDenied
from opencrf.projects.models import Arm, Event, Project, ProjectMember


def projects_visible_to(user: User) -> QuerySet[Project]:
    """Administrators see every project; others the projects they are members of."""
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(members__user=user).distinct()


def access_project(user: User, project_id: int) -> Project:
    """The project if `user` may see it, else NotFound — the same for missing and forbidden."""
    project = projects_visible_to(user).filter(pk=project_id).first()
    if project is None:
        raise NotFound(_("No such project."))
    return project


def can_design(user: User, project: Project) -> bool:
    if user.is_superuser:
        return True
    return ProjectMember.objects.filter(project=project, user=user, can_design=True).exists()


def access_project_design(user: User, project_id: int) -> Project:
    """The project if `user` may change its design, else NotFound or PermissionDenied."""
    project = access_project(user, project_id)
    if not can_design(user, project):
        raise PermissionDenied(_("You do not have design rights in this project."))
    return project


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
