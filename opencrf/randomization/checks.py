"""What randomization refuses of other apps' writes, registered in `RandomizationConfig.ready`.

- `allocation_guard` (records' save checks): the allocation field holds what randomization put
  there and nothing else. A save through any path — the data entry page, the API, an import,
  a survey, the system — that would give it another value than the one it holds is refused,
  unless the new value is the record's allocation (which is how `record_randomize` writes it:
  the allocation row exists before the field is written). With no allocation, the only value
  it may take is blank.
- `production_guard` (the project lifecycle): a project that randomizes from a table cannot
  move to production without a production table.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext
from opencrf.projects.models import Project, ProjectStatus
from opencrf.randomization.models import Allocation, AllocationRow, Method, RandomizationSetup
from opencrf.randomization.services import arms_being_written
from opencrf.records.errors import ValueProblem
from opencrf.records.models import FormData
from opencrf.records.save_checks import EditCheckRefused, PlannedForm


def allocation_guard(
    context: AuditContext, project: Project, planned: Sequence[PlannedForm]
) -> None:
    """The save check registered with records; see the module's note.

    It reads no design: a form holds the allocation field if its planned values or its stored
    values name it (a blank value is stored as no key, so clearing it shows in the stored ones).
    """
    setup = (
        RandomizationSetup.objects.filter(project=project)
        .only("allocation_field", "allocation_event_id")
        .first()
    )
    if setup is None:
        return
    name = setup.allocation_field
    mine = [item for item in planned if item.event.pk == setup.allocation_event_id]
    writing = arms_being_written()
    if not mine or all(item.record.pk in writing for item in mine):
        return  # nothing at the allocation's event, or randomization's own write
    records = {item.record.pk for item in mine}
    stored = {
        (f.record_id, f.form_name, f.instance): f.values.get(name)
        for f in FormData.objects.filter(
            record_id__in=records, event_id=setup.allocation_event_id
        ).only("record_id", "form_name", "instance", "values")
    }
    allocated = dict(
        Allocation.objects.filter(record_id__in=records).values_list("record_id", "arm")
    )
    problems = []
    for item in mine:
        before = stored.get((item.record.pk, item.form_name, item.instance))
        if name not in item.values and before is None:
            continue  # another form, or the field blank before and after
        after = item.values.get(name, "")
        expected = writing.get(item.record.pk, allocated.get(item.record.pk, ""))
        if after != (before or "") and after != expected:
            message = _(
                "%(field)s of record %(record)s is set by randomization: it cannot be entered "
                "or changed by hand; nothing was saved."
            ) % {"field": name, "record": item.record.record_id}
            problems.append(ValueProblem(name, after, "randomization", message))
    if problems:
        raise EditCheckRefused(problems)


def production_guard(project: Project, to: str) -> str | None:
    """Refuse the move to production of a project whose table method has no production table."""
    if to != ProjectStatus.PRODUCTION or project.status != ProjectStatus.DEVELOPMENT:
        return None
    setup = RandomizationSetup.objects.filter(project=project).first()
    if setup is None or setup.method != Method.TABLE:
        return None
    rows = AllocationRow.objects.filter(table__setup=setup, table__environment="production")
    if rows.exists():
        return None
    return _(
        "Randomization needs a production allocation table before the project moves to "
        "production: upload or generate one on the randomization set-up page."
    )
