"""`{% may_use_reports project as flag %}`: whether the project menu offers the reports page."""

from __future__ import annotations

from typing import Any

from django import template

from opencrf.core.errors import NotFound
from opencrf.exports.selectors import may_use_reports as _may_use
from opencrf.projects.models import Project
from opencrf.projects.selectors import member_rights

register = template.Library()


@register.simple_tag(takes_context=True)
def may_use_reports(context: dict[str, Any], project: Project) -> bool:
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return False
    try:
        return _may_use(member_rights(user, project), project)
    except NotFound:
        return False
