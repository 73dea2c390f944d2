"""Writes of the randomization app: the set-up, allocation tables, and randomizing a record.

Each service checks the actor's rights, writes, and audits (`randomization.*`) in one
transaction. `record_randomize` serializes on the set-up's row (`select_for_update`), so two
people randomizing at once, or one double click, get one allocation each in turn: the second
sees the first's allocation and is refused, or takes the next row. The database backs this up:
a record has one allocation, a row one allocation (unique keys).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, audit_chain_lock, audit_event_create
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.dictionary.design import ProjectDesign, design_of
from opencrf.projects.lifecycle import require_data_entry_open
from opencrf.projects.models import Project, ProjectStatus
from opencrf.projects.rights import Rights
from opencrf.randomization import minimization
from opencrf.randomization.models import (
    GROUP_STRATUM,
    Allocation,
    AllocationRow,
    AllocationTable,
    Environment,
    Method,
    RandomizationSetup,
)
from opencrf.randomization.scheme import (
    ALLOCATION_TYPES,
    STRATUM_TYPES,
    Scheme,
    field_rows,
    scheme_of,
    stratum_key,
)
from opencrf.randomization.tables import (
    TableLine,
    generate_blocks,
    parse_block_sizes,
    parse_table_csv,
)
from opencrf.records.auditing import record_target
from opencrf.records.bulk import FormWrite, FormWriter
from opencrf.records.models import FormData, Record
from opencrf.records.selectors import record_arm_ids
from opencrf.records.services import acting_rights

# The reason written with the allocation field's value (the trail keeps it as written).
WRITE_REASON = "Randomization"
# Record key → arm that `record_randomize` is writing now: the allocation guard (checks.py)
# lets exactly that value through, before the allocation row is stored.
_being_written: ContextVar[Mapping[int, str] | None] = ContextVar("randomizing", default=None)


@contextlib.contextmanager
def _writing(arms: Mapping[int, str]) -> Iterator[None]:
    token = _being_written.set(arms)
    try:
        yield
    finally:
        _being_written.reset(token)


def arms_being_written() -> Mapping[int, str]:
    return _being_written.get() or {}


def may_set_up(rights: Rights) -> bool:
    return rights.is_admin or rights.design or rights.randomization_setup


def _require_setup_right(context: AuditContext, project: Project) -> Rights:
    rights = acting_rights(context, project)
    if not may_set_up(rights):
        raise PermissionDenied(_("You may not set up randomization in this project."))
    return rights


def environment_of(project: Project) -> str:
    """The table a randomization uses now: development's until the project leaves it."""
    if project.status == ProjectStatus.DEVELOPMENT:
        return Environment.DEVELOPMENT
    return Environment.PRODUCTION


def setup_of(project: Project) -> RandomizationSetup | None:
    return RandomizationSetup.objects.filter(project=project).first()


@dataclass(frozen=True, slots=True)
class SetupInput:
    """The set-up page's answers, parsed. `strata` are (field name, event id) pairs."""

    allocation_field: str
    allocation_event_id: int
    strata: Sequence[tuple[str, int]]
    group_stratum: bool
    method: str
    ratios: Mapping[str, int]
    weights: Mapping[str, float]
    preferred_probability: float


def _check_input(project: Project, data: SetupInput) -> None:
    design = design_of(project)
    rows = {row.field_name: row for row in design.rows}
    events = {event.pk: event for event in design.events}

    def check_place(name: str, event_id: int, types: frozenset[str], what: str) -> None:
        row = rows.get(name)
        if row is None or row.field_type not in types:
            raise InvalidInput(
                _("%(what)s: %(field)s is not a field of a suitable type in this project.")
                % {"what": what, "field": name}
            )
        event = events.get(event_id)
        if event is None or not design.has_form(project, event, row.form_name):
            raise InvalidInput(
                _("%(what)s: the chosen event does not collect the form of %(field)s.")
                % {"what": what, "field": name}
            )
        if design.repeats_form(event, row.form_name):
            raise InvalidInput(
                _("%(what)s: %(field)s repeats at the chosen event; choose a field that does not.")
                % {"what": what, "field": name}
            )

    check_place(data.allocation_field, data.allocation_event_id, ALLOCATION_TYPES, _("Allocation"))
    names = [name for name, _event in data.strata]
    if len(set(names)) != len(names) or data.allocation_field in names:
        raise InvalidInput(_("Each stratum must be a different field from the allocation field."))
    for name, event_id in data.strata:
        check_place(name, event_id, STRATUM_TYPES, _("Stratum"))
    if data.method not in Method.values:
        raise InvalidInput(_("No such randomization method."))
    if not 0.5 <= data.preferred_probability <= 1.0:
        raise InvalidInput(_("The probability of the preferred arm must be between 0.5 and 1."))
    if data.method == Method.MINIMIZATION and not (data.strata or data.group_stratum):
        raise InvalidInput(_("Minimization needs at least one factor (a stratum)."))
    if any(ratio < 0 or ratio > 20 for ratio in data.ratios.values()):
        raise InvalidInput(_("Each arm's ratio must be a whole number from 0 to 20."))
    if any(weight < 0 or weight > 100 for weight in data.weights.values()):
        raise InvalidInput(_("Each factor's weight must be between 0 and 100."))


@transaction.atomic
def setup_save(*, context: AuditContext, project: Project, data: SetupInput) -> RandomizationSetup:
    """Create or change the set-up; only in development and before any allocation. A change of
    the field, strata or ratios erases the tables, which were made for the old ones."""
    _require_setup_right(context, project)
    locked = Project.objects.select_for_update().get(pk=project.pk)
    if locked.status != ProjectStatus.DEVELOPMENT:
        raise InvalidInput(
            _("Randomization can be set up only while the project is in development.")
        )
    _check_input(project, data)
    setup = RandomizationSetup.objects.select_for_update().filter(project=project).first()
    if setup is not None and setup.allocations.exists():
        raise InvalidInput(
            _(
                "Records have been randomized; erase the development allocations before "
                "changing the set-up."
            )
        )
    before = _setup_summary(setup) if setup else {}
    setup = setup or RandomizationSetup(project=project, seed=secrets.token_hex(16))
    setup.allocation_field = data.allocation_field
    setup.allocation_event_id = data.allocation_event_id
    setup.strata = [{"field": name, "event": event} for name, event in data.strata]
    setup.group_stratum = data.group_stratum
    setup.method = data.method
    setup.ratios = {code: int(ratio) for code, ratio in data.ratios.items()}
    setup.weights = {name: float(weight) for name, weight in data.weights.items()}
    setup.preferred_probability = data.preferred_probability
    setup.updated_at, setup.updated_by = timezone.now(), context.actor
    if scheme_of(setup).arm_codes == ():
        raise InvalidInput(_("At least one arm needs a ratio above 0."))
    setup.save()
    after = _setup_summary(setup)
    reshaped = any(before.get(k) != after[k] for k in ("field", "strata", "group", "ratios"))
    if before and reshaped:
        setup.tables.all().delete()
    changes = {
        key: [before.get(key, ""), value]
        for key, value in after.items()
        if before.get(key) != value
    }
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="randomization.setup",
        changes=changes,
        details="tables erased" if before and reshaped else "",
    )
    return setup


def _setup_summary(setup: RandomizationSetup) -> dict[str, object]:
    return {
        "field": f"{setup.allocation_field}@{setup.allocation_event_id}",
        "strata": ", ".join(f"{s['field']}@{s['event']}" for s in setup.strata),
        "group": setup.group_stratum,
        "method": setup.method,
        "ratios": dict(setup.ratios),
        "weights": dict(setup.weights),
        "p": setup.preferred_probability,
    }


def _lock_setup(project: Project) -> RandomizationSetup:
    setup = RandomizationSetup.objects.select_for_update().filter(project=project).first()
    if setup is None:
        raise InvalidInput(_("Randomization is not set up in this project."))
    setup.project = project
    return setup


def _table_for_writing(
    context: AuditContext, setup: RandomizationSetup, environment: str, reason: str
) -> tuple[AllocationTable | None, bool]:
    """The table being replaced (None if none) and whether the new lines are appended.

    In development, a setter-up replaces a table none of whose rows is used. Once the project
    has left development, the production table is locked: only an administrator may add rows
    to it, with a reason; rows already there (used or not) stay as they are.
    """
    project = setup.project
    if environment not in Environment.values:
        raise InvalidInput(_("No such allocation table."))
    if setup.method != Method.TABLE:
        raise InvalidInput(
            _("This project randomizes by minimization; it has no allocation table.")
        )
    table = setup.tables.filter(environment=environment).first()
    if project.status == ProjectStatus.DEVELOPMENT:
        if table is not None and table.rows.filter(used=True).exists():
            raise InvalidInput(
                _("Rows of this table have been used; erase the development allocations first.")
            )
        return table, False
    if environment == Environment.DEVELOPMENT:
        raise InvalidInput(_("The development table can be changed only in development."))
    if context.actor is None or not context.actor.is_superuser:
        raise PermissionDenied(
            _("The production table is locked; only an administrator may add rows to it.")
        )
    if not reason.strip():
        raise InvalidInput(_("Give a reason for changing the production table; nothing was saved."))
    return table, table is not None


def _store_lines(
    context: AuditContext,
    setup: RandomizationSetup,
    environment: str,
    lines: Sequence[TableLine],
    table_fields: Mapping[str, object],
    reason: str,
) -> AllocationTable:
    table, append = _table_for_writing(context, setup, environment, reason)
    factors = setup.factors()
    start = 0
    if table is not None and append:
        start = table.rows.aggregate(last=Max("position"))["last"] or 0
    else:
        if table is not None:
            table.delete()
        table = AllocationTable(setup=setup, environment=environment)
        for name, value in table_fields.items():
            setattr(table, name, value)
        table.created_at, table.created_by = timezone.now(), context.actor
        table.save()
    AllocationRow.objects.bulk_create(
        [
            AllocationRow(
                table=table,
                position=start + number,
                arm=line.arm,
                stratum=dict(line.stratum),
                stratum_key=stratum_key(line.stratum, factors),
                block=line.block,
            )
            for number, line in enumerate(lines, start=1)
        ],
        batch_size=1000,
    )
    audit_event_create(
        context=context,
        project_id=setup.project.pk,
        action="randomization.table_add" if append else "randomization.table_replace",
        details=f"{environment} table: {len(lines)} rows ({table_fields.get('origin')})",
        changes={key: value for key, value in table_fields.items() if key != "origin"},
        reason=reason.strip(),
    )
    return table


@transaction.atomic
def table_upload(
    *,
    context: AuditContext,
    project: Project,
    environment: str,
    data: bytes,
    file_name: str,
    reason: str = "",
) -> AllocationTable:
    """Store an allocation table uploaded in REDCap's CSV format (see tables.py)."""
    _require_setup_right(context, project)
    setup = _lock_setup(project)
    lines = parse_table_csv(data, scheme_of(setup), list(project.groups.all()))
    fields = {
        "origin": AllocationTable.Origin.UPLOAD,
        "file_name": file_name[:255],
        "file_sha256": hashlib.sha256(data).hexdigest(),
    }
    return _store_lines(context, setup, environment, lines, fields, reason)


@transaction.atomic
def table_generate(
    *,
    context: AuditContext,
    project: Project,
    environment: str,
    block_sizes: str,
    blocks: int,
    seed: str = "",
    reason: str = "",
) -> AllocationTable:
    """Generate a table of permuted blocks per stratum from a recorded seed (see tables.py)."""
    _require_setup_right(context, project)
    setup = _lock_setup(project)
    scheme = scheme_of(setup)
    sizes = parse_block_sizes(block_sizes, scheme)
    seed = seed.strip()[:64] or secrets.token_hex(16)
    lines = generate_blocks(scheme, sizes, blocks, seed)
    fields = {
        "origin": AllocationTable.Origin.GENERATED,
        "seed": seed,
        "block_sizes": sizes,
        "blocks_per_stratum": blocks,
    }
    return _store_lines(context, setup, environment, lines, fields, reason)


@transaction.atomic
def development_allocations_erase(*, context: AuditContext, project: Project) -> int:
    """Erase the allocations made in development (test records), free their rows and blank
    their allocation field; only in development. Returns how many were erased."""
    _require_setup_right(context, project)
    setup = _lock_setup(project)
    if project.status != ProjectStatus.DEVELOPMENT:
        raise InvalidInput(_("Allocations can be erased only while the project is in development."))
    allocations = list(
        setup.allocations.select_for_update(of=("self",))
        .filter(environment=Environment.DEVELOPMENT)
        .select_related("record", "record__group")
    )
    records = [a.record for a in allocations if a.record is not None]
    AllocationRow.objects.filter(allocation__in=allocations).update(used=False)
    setup.allocations.filter(pk__in=[a.pk for a in allocations]).delete()
    design = design_of(project)
    _write_values(
        context, setup, design, dict.fromkeys(records, ""), "Development allocations erased"
    )
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="randomization.erase",
        details=f"{len(allocations)} development allocation(s) erased",
        changes={"records": [a.record_label for a in allocations]},
    )
    return len(allocations)


def _write_values(
    context: AuditContext,
    setup: RandomizationSetup,
    design: ProjectDesign,
    values: Mapping[Record, str],
    reason: str,
) -> None:
    """Write the allocation field of each record through records' one write path (audited
    `form.update`, save checks run: the allocation guard sees the allocation in place)."""
    if not values:
        return
    project = setup.project
    form = field_rows(setup, design)[setup.allocation_field].form_name
    event = setup.allocation_event
    writes = [
        FormWrite(record, event, form, 1, {setup.allocation_field: value})
        for record, value in values.items()
    ]
    FormWriter(context, project, design, reason).write(writes)


def record_stratum(setup: RandomizationSetup, scheme: Scheme, record: Record) -> dict[str, str]:
    """The record's code of each stratum; InvalidInput naming every stratum not entered."""
    wanted = [(str(item["field"]), int(item["event"])) for item in setup.strata]
    forms = FormData.objects.filter(record=record, instance=1, event_id__in={e for _n, e in wanted})
    stored = {(form.event_id, name): value for form in forms for name, value in form.values.items()}
    stratum: dict[str, str] = {}
    missing: list[str] = []
    factors = {factor.name: factor for factor in scheme.factors}
    for name, event_id in wanted:
        value = stored.get((event_id, name), "")
        if value not in factors[name].codes:
            missing.append(name)
        stratum[name] = value
    if setup.group_stratum:
        stratum[GROUP_STRATUM] = str(record.group_id or "")
        if record.group_id is None:
            missing.append(str(_("data access group")))
    if missing:
        raise InvalidInput(
            _("Record %(record)s cannot be randomized: enter %(fields)s first.")
            % {"record": record.record_id, "fields": ", ".join(missing)}
        )
    return stratum


def record_randomize(*, context: AuditContext, project: Project, record: Record) -> Allocation:
    """Allocate `record` and write its allocation field; see the module's note.

    The design is read before the transaction, where each process keeps it (inside one it
    would be read again at each use).
    """
    design = design_of(project)
    return _randomize(context, project, record, design)


@transaction.atomic
def _randomize(
    context: AuditContext, project: Project, record: Record, design: ProjectDesign
) -> Allocation:
    rights = acting_rights(context, project)
    if not (rights.is_admin or rights.randomization_perform):
        raise PermissionDenied(_("You may not randomize records in this project."))
    require_data_entry_open(project)
    locked = Record.objects.select_for_update().filter(pk=record.pk, project=project).first()
    if locked is None:
        raise NotFound(_("No such record."))
    if Allocation.objects.filter(record=locked).exists():
        raise InvalidInput(
            _("Record %(record)s is randomized already.") % {"record": record.record_id}
        )
    setup = RandomizationSetup.objects.select_related("allocation_event").filter(project=project)
    found = setup.first()
    if found is None:
        raise InvalidInput(_("Randomization is not set up in this project."))
    found.project = project
    if found.allocation_event.arm_id not in record_arm_ids(locked):
        raise InvalidInput(_("This record is not in the arm where its allocation is entered."))
    scheme = scheme_of(found, design)
    stratum = record_stratum(found, scheme, locked)
    allocation = Allocation(
        setup=found,
        record=locked,
        record_label=locked.record_id,
        group_id=locked.group_id,
        environment=environment_of(project),
        stratum=stratum,
        stratum_key=stratum_key(stratum, found.factors()),
        allocated_at=timezone.now(),
        allocated_by=context.actor,
    )
    if found.method == Method.TABLE:
        _from_table(found, allocation)
    else:
        _by_minimization(found, scheme, allocation)
    with _writing({locked.pk: allocation.arm}):
        _write_values(context, found, design, {locked: allocation.arm}, WRITE_REASON)
    if found.method == Method.TABLE:
        # Numbered under the audit chain's lock, which every writer of the project takes and
        # holds until commit: the next number is free, and rows of other strata were taken
        # in parallel until here.
        audit_chain_lock(project.pk)
        allocation.sequence = _next_sequence(found, allocation.environment)
    allocation.save()
    _audit_allocation(context, found, design, locked, allocation)
    return allocation


def _next_sequence(setup: RandomizationSetup, environment: str) -> int:
    done = setup.allocations.filter(environment=environment)
    return int(done.aggregate(last=Max("sequence"))["last"] or 0) + 1


def _from_table(setup: RandomizationSetup, allocation: Allocation) -> None:
    """Take the first unused row of the stratum, locking it until commit.

    A second randomization in the same stratum waits on that row; once the first commits,
    PostgreSQL finds the row used and locks the next one (the lock is taken below the LIMIT),
    so rows are used in order, none twice, none skipped. Other strata go on in parallel.
    """
    table = AllocationTable.objects.filter(setup=setup, environment=allocation.environment)
    rows = AllocationRow.objects.select_for_update(of=("self",)).filter(
        table_id=table.values("pk")[:1], stratum_key=allocation.stratum_key, used=False
    )
    row = rows.order_by("position").first()
    if row is None:
        raise InvalidInput(
            _(
                "No allocation is left in the %(environment)s table for this record's stratum; "
                "ask whoever set up randomization to add rows."
            )
            % {"environment": Environment(allocation.environment).label}
        )
    row.used = True
    row.save(update_fields=["used"])
    allocation.row, allocation.arm = row, row.arm


def minimization_counts(setup: RandomizationSetup, environment: str) -> minimization.Counts:
    counts: minimization.Counts = {}
    earlier = setup.allocations.filter(environment=environment).values_list("stratum", "arm")
    factors = setup.factors()
    for stratum, arm in earlier:
        minimization.count_in(counts, {f: stratum.get(f, "") for f in factors}, arm)
    return counts


def _by_minimization(setup: RandomizationSetup, scheme: Scheme, allocation: Allocation) -> None:
    """Decide by minimization; every minimization of the project waits for the one before
    (the set-up's row is locked), as each depends on all earlier allocations."""
    RandomizationSetup.objects.select_for_update().filter(pk=setup.pk).first()
    environment = allocation.environment
    allocation.sequence = _next_sequence(setup, environment)
    counts = minimization_counts(setup, environment)
    rng = random.Random(f"{setup.seed}:{environment}:{allocation.sequence}")  # noqa: S311
    weights = {name: float(setup.weights.get(name, 1.0)) for name in setup.factors()}
    decision = minimization.minimize(
        counts,
        allocation.stratum,
        weights,
        list(scheme.arm_codes),
        scheme.ratios,
        setup.preferred_probability,
        rng,
    )
    allocation.arm = decision.arm
    allocation.state = {**decision.state(), "p": setup.preferred_probability, "weights": weights}


def _audit_allocation(
    context: AuditContext,
    setup: RandomizationSetup,
    design: ProjectDesign,
    record: Record,
    allocation: Allocation,
) -> None:
    form = field_rows(setup, design)[setup.allocation_field].form_name
    where = (
        f"row {allocation.row.position} of the {allocation.environment} table"
        if allocation.row is not None
        else f"minimization ({allocation.environment})"
    )
    audit_event_create(
        context=context,
        project_id=setup.project.pk,
        action="randomization.allocate",
        target=record_target(record, setup.allocation_event, form, 1),
        details=f"Randomized: {where}, allocation {allocation.sequence}",
        changes={
            "stratum": allocation.stratum,
            **({"state": allocation.state} if allocation.state else {}),
        },
    )
