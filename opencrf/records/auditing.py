"""The audit target of a record: the one place that ties an entry to the record's identity."""

from __future__ import annotations

from django.utils.translation import gettext as _

from opencrf.audit.services import AuditTarget
from opencrf.projects.models import Event
from opencrf.records.models import Record


def record_target(
    record: Record, event: Event | None = None, form: str = "", instance: int | None = None
) -> AuditTarget:
    """The target of an entry about `record`, carrying its internal key and its group now.

    History views filter on these, never on the id text, which a rename changes and a later
    record (of another site, perhaps) may take again after a delete.
    """
    return AuditTarget(
        record=record.record_id,
        event=event.unique_name if event else "",
        instrument=form,
        instance=instance,
        record_key=record.pk,
        group_id=record.group_id,
    )


def record_id_taken_message(record_id: str, *, grouped: bool) -> str:
    """The refusal of an id that another record has.

    A member of a data access group gets one neutral wording whatever group holds the id (theirs
    or another), so that another site's record is never said or implied to exist; members
    without a group see every record, and are told plainly. See docs/subsystems/rights.md.
    """
    if grouped:
        return _("Record ID %(record)s is not available.") % {"record": record_id}
    return _("Record %(record)s exists already.") % {"record": record_id}
