"""Recompute audit hash chains and name the first entry that does not hold (`opencrf audit verify`).

A chain is read in `sequence` order through a database iterator, so memory stays flat however
long the chain is. Each entry is checked three ways, in this order: its sequence follows the
previous one without a gap, its `prev_hash` is the previous entry's `hash`, and its `hash` is
`audit_hash(prev_hash, audit_payload(entry))`. The walk stops at the first failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import GENESIS_HASH, audit_hash, audit_payload

CHUNK_SIZE = 2000


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of checking one chain.

    `head_hash` is the hash of the last entry found sound: the chain's head when `ok`, and
    `GENESIS_HASH` for an empty chain. Reasons are plain English for operators (the command
    line is not translated).
    """

    project_id: int
    entries_checked: int
    ok: bool
    first_broken: int | None
    reason: str | None
    head_hash: str


def verify_chain(project_id: int, *, using: str = DEFAULT_DB_ALIAS) -> ChainReport:
    """Check every entry of the chain of `project_id` (0 for the system chain) in `using`."""
    entries = (
        AuditEvent.objects.using(using)
        .filter(project_id=project_id)
        .order_by("sequence")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    previous_sequence = 0
    previous_hash = GENESIS_HASH
    checked = 0
    for entry in entries:
        checked += 1
        problem = _entry_problem(entry, previous_sequence, previous_hash)
        if problem is not None:
            broken, reason = problem
            return ChainReport(project_id, checked, False, broken, reason, previous_hash)
        previous_sequence, previous_hash = entry.sequence, entry.hash
    return ChainReport(project_id, checked, True, None, None, previous_hash)


def verify_all(*, using: str = DEFAULT_DB_ALIAS) -> list[ChainReport]:
    """Check every chain present, the system chain (0) included, in project order."""
    # An explicit order_by: the model's default ordering would add `sequence` to the DISTINCT.
    chains = (
        AuditEvent.objects.using(using)
        .order_by("project_id")
        .values_list("project_id", flat=True)
        .distinct()
    )
    return [verify_chain(project_id, using=using) for project_id in chains]


def _entry_problem(
    entry: AuditEvent, previous_sequence: int, previous_hash: str
) -> tuple[int, str] | None:
    """(sequence of the broken entry, reason) or None when `entry` continues the chain."""
    expected = previous_sequence + 1
    if entry.sequence != expected:
        return expected, _gap_reason(expected, previous_sequence, entry.sequence)
    if entry.prev_hash != previous_hash:
        return expected, _link_reason(expected, previous_sequence)
    if audit_hash(entry.prev_hash, audit_payload(entry)) != entry.hash:
        return expected, f"entry {expected} was changed: its hash does not match its content"
    return None


def _gap_reason(expected: int, previous_sequence: int, found: int) -> str:
    if previous_sequence == 0:
        return f"entry {expected} is missing (the chain starts at {found})"
    return f"entry {expected} is missing (sequence jumps from {previous_sequence} to {found})"


def _link_reason(expected: int, previous_sequence: int) -> str:
    if previous_sequence == 0:
        return "entry 1 does not start the chain: its previous-hash is not the genesis hash"
    follows = f"entry {expected} does not follow entry {previous_sequence}"
    return f"{follows}: its previous-hash differs"
