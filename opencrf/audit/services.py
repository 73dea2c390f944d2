"""Append to the audit trail. Called inside the transaction of the change it records."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import transaction
from django.http import HttpRequest

from opencrf.accounts.models import User
from opencrf.audit.models import AuditEvent, AuditSource
from opencrf.core.bulk_sql import insert_values
from opencrf.core.middleware import client_address

GENESIS_HASH = "0" * 64
AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the time in hashed payloads, always UTC
SYSTEM_CHAIN = 0
# Advisory-lock keys of audit chains: this base plus the project id, clear of other users.
AUDIT_LOCK_BASE = 0x0A0D17 << 32


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Who acts, through what, from where: built once at the edge (view, API, CLI)."""

    actor: User | None
    source: str = AuditSource.WEB
    request_id: str = ""
    client_address: str = ""
    # Who acts when no user does: a survey participant's stable pseudonym (actor is None).
    actor_label: str = ""

    @property
    def actor_name(self) -> str:
        return self.actor.username if self.actor else self.actor_label

    @classmethod
    def system(cls) -> AuditContext:
        return cls(actor=None, source=AuditSource.SYSTEM)

    @classmethod
    def from_request(cls, request: HttpRequest, source: str = AuditSource.WEB) -> AuditContext:
        user = request.user if request.user.is_authenticated else None
        return cls(
            actor=user,
            source=source,
            request_id=getattr(request, "request_id", ""),
            client_address=client_address(request),
        )


@dataclass(frozen=True, slots=True)
class AuditTarget:
    """What an entry is about. `record` is the record id as shown; `record_key` the record's
    internal key, which survives a rename and is never reused after a delete; `group_id` the
    record's data access group when the entry is written (None: no group). History views
    decide who sees an entry by the last two, never by the id text."""

    record: str = ""
    event: str = ""
    instrument: str = ""
    instance: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    record_key: int | None = None
    group_id: int | None = None


def audit_hash(prev_hash: str, payload: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON."""
    body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def audit_payload(event: AuditEvent) -> dict[str, Any]:
    """The fields covered by the hash, in a form that survives a database round trip."""
    payload = {
        "project_id": event.project_id,
        "sequence": event.sequence,
        "at": event.at.astimezone(UTC).strftime(AT_FORMAT),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "source": event.source,
        "action": event.action,
        "record": event.record,
        "event": event.event,
        "instrument": event.instrument,
        "instance": event.instance,
        "details": event.details,
        "changes": event.changes,
        "reason": event.reason,
        "request_id": event.request_id,
        "client_address": event.client_address,
    }
    return _with_identity(payload, event.record_key, event.group_id)


def _with_identity(
    payload: dict[str, Any], record_key: int | None, group_id: int | None
) -> dict[str, Any]:
    """Add the record's identity to a payload, each key only when set: entries written before
    these columns existed have neither, and their stored hashes must still verify."""
    if record_key is not None:
        payload["record_key"] = record_key
    if group_id is not None:
        payload["group_id"] = group_id
    return payload


def audit_event_create(
    *,
    context: AuditContext,
    project_id: int | None,
    action: str,
    target: AuditTarget | None = None,
    details: str = "",
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one entry to the project's chain. Must run inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_event_create must run inside the transaction of the change")
    target = target or AuditTarget()
    chain = project_id or SYSTEM_CHAIN
    last = _lock_chain_head(chain)
    event = AuditEvent(
        project_id=chain,
        sequence=(last.sequence + 1) if last else 1,
        at=datetime.now(UTC),
        actor=context.actor,
        actor_name=context.actor_name,
        source=context.source,
        action=action,
        record=target.record,
        event=target.event,
        instrument=target.instrument,
        instance=target.instance,
        record_key=target.record_key,
        group_id=target.group_id,
        details=details,
        changes=dict(changes or {}),
        reason=reason,
        request_id=context.request_id,
        client_address=context.client_address,
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    event.hash = audit_hash(event.prev_hash, audit_payload(event))
    event.save(force_insert=True)
    return event


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry for `audit_events_create`."""

    action: str
    target: AuditTarget
    changes: Mapping[str, Any]
    details: str = ""
    reason: str = ""


def audit_events_create(
    *, context: AuditContext, project_id: int, entries: Sequence[AuditEntry], batch: int = 2000
) -> int:
    """Append many entries to one project's chain at once (imports): the chain is locked once,
    the hashes chained in order, the rows inserted in batches. Same transaction rule as
    `audit_event_create`."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_events_create must run inside the transaction of the change")
    if not entries:
        return 0
    last = _lock_chain_head(project_id)
    sequence, prev_hash = (last.sequence, last.hash) if last else (0, GENESIS_HASH)
    now = datetime.now(UTC)
    at = now.strftime(AT_FORMAT)
    actor_id = context.actor.pk if context.actor else None
    actor_name = context.actor_name
    rows = []
    # Plain payloads and rows rather than AuditEvent instances: the same hash as
    # `audit_payload` gives for the stored row, at a fraction of the cost per entry.
    for entry in entries:
        sequence += 1
        target = entry.target
        changes = dict(entry.changes)
        payload = {
            "project_id": project_id,
            "sequence": sequence,
            "at": at,
            "actor_id": actor_id,
            "actor_name": actor_name,
            "source": context.source,
            "action": entry.action,
            "record": target.record,
            "event": target.event,
            "instrument": target.instrument,
            "instance": target.instance,
            "details": entry.details,
            "changes": changes,
            "reason": entry.reason,
            "request_id": context.request_id,
            "client_address": context.client_address,
        }
        hashed = _with_identity(dict(payload), target.record_key, target.group_id)
        entry_hash = audit_hash(prev_hash, hashed)
        payload["at"] = now  # stored as a timestamp; hashed as its text above
        identity = (target.record_key, target.group_id)
        rows.append((*payload.values(), *identity, prev_hash, entry_hash))  # AUDIT_COLUMNS order
        prev_hash = entry_hash
    return insert_values(AuditEvent, AUDIT_COLUMNS, rows, batch=batch)


# The payload's fields in `audit_payload`'s order, the record's identity, then the two hashes.
AUDIT_COLUMNS = (
    "project_id",
    "sequence",
    "at",
    "actor",
    "actor_name",
    "source",
    "action",
    "record",
    "event",
    "instrument",
    "instance",
    "details",
    "changes",
    "reason",
    "request_id",
    "client_address",
    "record_key",
    "group_id",
    "prev_hash",
    "hash",
)


def audit_chain_lock(chain: int) -> None:
    """Hold the lock of a project's audit chain until the transaction ends (PostgreSQL)."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_BASE + chain])


def _lock_chain_head(chain: int) -> AuditEvent | None:
    """The newest entry of `chain`, read after taking the chain's lock until commit.

    PostgreSQL: a transaction-scoped advisory lock per chain, so that concurrent writers queue
    (a row lock would let a waiter read a stale head, and an empty chain has no row to lock).
    SQLite: every write transaction begins IMMEDIATE, which already serialises writers.
    """
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_BASE + chain])
    return AuditEvent.objects.filter(project_id=chain).order_by("-sequence").first()
