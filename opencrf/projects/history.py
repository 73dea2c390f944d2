"""Which audit entries of a project a member may read: the logging page, its CSV and the API.

An entry about a record carries the record's internal key (`record_key`, which a rename keeps
and a delete retires) and the record's data access group when it was written (`group_id`).
Visibility is decided on those two, never on the record id text, which a rename changes and
another site's new record may take again after a delete. See docs/subsystems/audit.md.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from opencrf.accounts.models import User
from opencrf.audit.models import AuditEvent
from opencrf.projects.models import DataAccessGroup, Project, ProjectMember
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import member_rights

FILE_ACTIONS = "file."
# Repository file entries name their folder under this key of `changes` ("" for the top level).
FOLDER_KEY = "folder_id"


def log_entries_visible_to(user: User, project: Project) -> QuerySet[AuditEvent]:
    """The project's entries `user` may see.

    A member in a data access group sees: entries about no record and no group (set-up,
    rights); entries written while their subject was in the member's group; entries about the
    records in the group now, under whatever id they had; and files of repository folders
    open to every group. An entry about a record written before entries carried the record's
    key cannot be told apart from another site's, and is shown only to members who see every
    group. Everyone but administrators misses the files of repository folders kept for a role
    they do not have.
    """
    rights = member_rights(user, project)
    entries = AuditEvent.objects.filter(project_id=project.pk)
    entries = _outside_other_roles_folders(entries, user, project, rights)
    if rights.group_id is None:
        return entries
    return entries.filter(_seen_by_group(rights.group_id))


def _seen_by_group(group_id: int) -> Q:
    group_records = DataAccessGroup.objects.filter(pk=group_id).values("records__pk")
    no_subject = Q(record="", record_key=None, group_id=None)
    # A file entry tied to no record, group or shared folder is an upload that has not (yet)
    # joined a record, or one written before file entries named their record: not for sites.
    shared = ~Q(action__startswith=FILE_ACTIONS) | Q(changes__has_key=FOLDER_KEY)
    return (no_subject & shared) | Q(group_id=group_id) | Q(record_key__in=group_records)


def _outside_other_roles_folders(
    entries: QuerySet[AuditEvent], user: User, project: Project, rights: Rights
) -> QuerySet[AuditEvent]:
    if rights.is_admin:
        return entries
    member = ProjectMember.objects.filter(project=project, user=user).first()
    hidden = project.folders.exclude(role=None)
    if member is not None and member.role_id is not None:
        hidden = hidden.exclude(role_id=member.role_id)
    folder_ids = list(hidden.values_list("pk", flat=True))
    if not folder_ids:
        return entries
    return entries.exclude(Q(changes__has_key=FOLDER_KEY) & Q(changes__folder_id__in=folder_ids))


def entries_about_record(
    entries: QuerySet[AuditEvent], project: Project, record_id: str
) -> QuerySet[AuditEvent]:
    """The entries of `entries` written under `record_id`, or about the record called so now
    (its entries from before a rename included)."""
    current = project.records.filter(record_id=record_id).values("pk")
    return entries.filter(Q(record=record_id) | Q(record_key__in=current))


def entries_about_group(
    entries: QuerySet[AuditEvent], group: DataAccessGroup
) -> QuerySet[AuditEvent]:
    """The entries written while their subject was in `group`, or about its records now."""
    return entries.filter(Q(group_id=group.pk) | Q(record_key__in=group.records.values("pk")))
