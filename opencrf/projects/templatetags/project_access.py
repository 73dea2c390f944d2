"""`{% project_access project as access %}`: what the project navigation may offer the user.

The rights are decided by `selectors.member_rights`; the template only shows their answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import template

from opencrf.core.errors import NotFound
from opencrf.projects import selectors
from opencrf.projects.models import DataAccessGroup, Project
from opencrf.projects.rights import Rights

register = template.Library()


@dataclass(frozen=True)
class ProjectAccess:
    rights: Rights
    switch_groups: list[DataAccessGroup] = field(default_factory=list)

    @property
    def manages_groups(self) -> bool:
        return self.rights.data_access_groups and self.rights.group_id is None


@register.simple_tag(takes_context=True)
def project_access(context: dict[str, Any], project: Project) -> ProjectAccess:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ProjectAccess(Rights())
    try:
        rights = selectors.member_rights(user, project)
    except NotFound:
        return ProjectAccess(Rights())
    return ProjectAccess(rights, selectors.switchable_groups(user, project))
