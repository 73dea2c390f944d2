"""What records does when a project's status moves (registered in `RecordsConfig.ready`)."""

from __future__ import annotations

from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.projects.models import Project
from opencrf.records.models import Record


def records_purge_for_production(context: AuditContext, project: Project) -> int:
    """Delete every record of a project going to production without its test records.

    Runs inside the move's transaction; the audit keeps every deleted value's history.
    """
    records = Record.objects.filter(project=project)
    count = records.count()
    if count:
        records.delete()
        audit_event_create(
            context=context,
            project_id=project.pk,
            action="record.purge",
            details=f"{count} test record(s) deleted on the move to production",
        )
    return count
