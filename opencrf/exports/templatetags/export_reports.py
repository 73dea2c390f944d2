"""`{% may_use_reports project access.rights as flag %}`: whether the project menu offers the
reports page, from the rights the menu has already read (no query of its own)."""

from __future__ import annotations

from django import template

from opencrf.exports.selectors import may_use_reports as _may_use
from opencrf.projects.models import Project
from opencrf.projects.rights import Rights

register = template.Library()


@register.simple_tag
def may_use_reports(project: Project, rights: Rights) -> bool:
    return _may_use(rights, project)
