"""New projects from an existing one (REDCap's "Copy project") or from a shipped template.

A copy goes through Project XML: the source is written as the copier may export it, read
back, trimmed to the options chosen, and created by `project_create_from_parsed` — the same
services as the web, the API and the import tool, in one transaction, so every record of the
copy is created and filled through records' services and audited in the new project (source
`system`, reason "copied from project N"). What the copier may not see in the source (records
of another data access group, fields their export rights remove) is not copied either.

The copier becomes the new project's creator, holding every right (`project_create`).
See docs/subsystems/project-setup.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.audit.models import AuditSource
from opencrf.audit.services import AuditContext
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.dictionary.odm import GROUP_COLUMN, ProjectXml
from opencrf.dictionary.translation_services import translations_copy
from opencrf.projects.models import RIGHT_FLAGS, Project, ProjectMember
from opencrf.projects.rights_services import member_add
from opencrf.projects.selectors import active_member, member_rights
from opencrf.projects.services import member_group_set
from opencrf.projects.templates_data import template_xml
from opencrf.records.project_xml import (
    project_create_from_parsed,
    project_create_from_xml,
    project_xml_read,
    project_xml_write,
)


@dataclass(frozen=True)
class CopyOptions:
    """What a copy takes besides the design (instruments, arms, events, repeats, settings)."""

    records: bool = False  # records, their data and their files
    users: bool = False  # members with their rights, and the user roles
    groups: bool = False  # data access groups (and members' and records' groups)
    reports: bool = False  # saved reports
    surveys: bool = False  # survey settings and the survey queue


def copy_reason(source: Project) -> str:
    return f"copied from project {source.pk}"


def project_copy(
    *, context: AuditContext, source: Project, title: str, options: CopyOptions
) -> Project:
    """A new project copied from `source`, which the acting user must be able to design.

    PermissionDenied without design rights; InvalidInput (nothing created) for any fault.
    """
    user = context.actor
    if user is None or not member_rights(user, source).design:
        raise PermissionDenied(_("You may copy only a project you may design."))
    if not title.strip():
        raise InvalidInput(_("A project needs a title."))
    # With records and surveys, each response's completion time travels too (REDCap's
    # `<form>_timestamp`), so the copy's responses are completed or partial as they were.
    with_times = options.records and options.surveys
    chunks = project_xml_write(
        source,
        user,
        include_data=options.records,
        include_files=options.records,
        survey_fields=frozenset({"timestamps"}) if with_times else frozenset(),
    )
    parsed = project_xml_read("".join(chunks).encode("utf-8"))
    _trim(parsed, options)
    copying = AuditContext(
        actor=user,
        source=AuditSource.SYSTEM,
        request_id=context.request_id,
        client_address=context.client_address,
    )
    with transaction.atomic():
        project = project_create_from_parsed(
            context=copying, parsed=parsed, title=title, reason=copy_reason(source)
        )
        if options.users:
            _copy_members(copying, source, project, with_groups=options.groups)
        # Multi-language forms go with the design (survey texts only with the surveys).
        translations_copy(context=copying, source=source, project=project)
    return project


def _trim(parsed: ProjectXml, options: CopyOptions) -> None:
    parsed.languages = []  # `translations_copy` copies them, keeping the texts the copy has
    if not options.records:
        parsed.rows, parsed.files, parsed.survey_times = [], [], []
    if not options.groups:
        parsed.groups = []
        parsed.rows = [{k: v for k, v in row.items() if k != GROUP_COLUMN} for row in parsed.rows]
    if not options.users:
        parsed.roles = []
    if not options.reports:
        parsed.reports = []
    if not options.surveys:
        parsed.surveys, parsed.survey_queue, parsed.survey_times = [], [], []


def _copy_members(
    context: AuditContext, source: Project, project: Project, *, with_groups: bool
) -> None:
    """Every member of `source` in force (but the copier, already a member with every
    right), with the same role or own rights, expiry and, with groups, group."""
    forms = set(project.instruments.values_list("name", flat=True))
    roles = {role.name: role for role in project.roles.all()}
    groups = {group.unique_name: group for group in project.groups.all()}
    assert context.actor is not None
    for member in source.members.select_related("user", "role", "group").order_by("user__username"):
        if member.user_id == context.actor.pk or active_member(member.user, source) is None:
            continue
        added = member_add(
            context=context,
            project=project,
            username=member.user.username,
            rights=None if member.role else _rights_of(member, forms),
            role=roles.get(member.role.name) if member.role else None,
            expires_on=member.expires_on,
        )
        if with_groups and member.group is not None:
            member_group_set(context=context, member=added, group=groups[member.group.unique_name])


def _rights_of(member: ProjectMember, forms: set[str]) -> dict[str, object]:
    rights: dict[str, object] = {name: getattr(member, name) for name in RIGHT_FLAGS}
    rights["data_resolution"] = member.data_resolution
    for key in ("form_rights", "export_rights"):
        given = getattr(member, key) or {}
        rights[key] = {name: level for name, level in given.items() if name in forms}
    return rights


def project_create_from_template(*, context: AuditContext, name: str, title: str) -> Project:
    """A new project from one of the shipped templates (design only, no records)."""
    data = template_xml(name)
    if data is None:
        raise InvalidInput(_("No such template."))
    return project_create_from_xml(context=context, data=data, title=title)
