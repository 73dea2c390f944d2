"""Checkpoints: every chain's head and length, signed with a key kept out of the database.

The hash chains find an entry changed or removed in the middle of a chain, but not a chain cut
short at its end, deleted whole, or rewritten from some entry onwards with every later hash
recomputed: anyone who can write to the database can do that and leave a sound chain. A
checkpoint anchors each chain outside the table: for every chain (0, the system chain,
included) its entry count, last sequence and head hash, with the time, signed by HMAC-SHA256
under the audit key (`OPENCRF_AUDIT_KEY`, else derived from the secret key; neither is in the
database). `verify.verify_anchored` then names what a checkpoint saw and the table lacks.

Checkpoints are JSON files written through Django's storage API (a folder or a bucket alike)
under `audit-anchors/`: hourly by the scheduler, after each backup, and after each full
verification (carrying its result). Each backup's contents hold one too, and the metrics and
the operations report publish the newest, so copies live where a database administrator
cannot reach. A *restart* checkpoint (after a live restore or a training reset) marks the
point from which earlier checkpoints no longer describe the trail.

docs/subsystems/audit.md holds the threat model: what this finds, and what it cannot.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Max

from opencrf.audit.models import AuditEvent

FOLDER = "audit-anchors"
FORMAT = 1
KIND = "opencrf-audit-checkpoint"
# Distinct from every other use of the secret key, so that this key reveals nothing else.
KEY_LABEL = b"opencrf audit checkpoint key v1"
NAME = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{4}\.json$")
TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"
MAX_BYTES = 16 * 1024 * 1024
# Pruning keeps the newest checkpoints, the newest of each recent day, then one per month.
KEEP_NEWEST = 24
KEEP_DAYS = 31


class AnchorInvalid(Exception):
    """A checkpoint that cannot be trusted: malformed, altered, or signed with another key."""


@dataclass(frozen=True, slots=True)
class ChainHead:
    """One chain as a checkpoint saw it: entries present, last sequence, its hash."""

    project_id: int
    count: int
    sequence: int
    hash: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Every chain's head at `made_at`. `source` says where it was read (file or backup).

    `restart` marks a legitimate new beginning (a live restore, a training reset): earlier
    checkpoints are not compared with the trail. `verification` carries the result of the full
    verification that made this checkpoint: {"ok": bool, "problems": int}.
    """

    made_at: datetime
    reason: str
    chains: tuple[ChainHead, ...]
    restart: bool = False
    verification: Mapping[str, Any] | None = None
    source: str = field(default="", compare=False)
    signed: bool = field(default=True, compare=False)

    @property
    def label(self) -> str:
        """How a message names it: `the checkpoint of 2026-12-07 08:00:00 UTC`."""
        when = self.made_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        kind = "checkpoint" if self.signed else "unsigned heads"
        return f"the {kind} of {when}" + (f" ({self.source})" if self.source else "")

    def head(self, project_id: int) -> ChainHead | None:
        return next((chain for chain in self.chains if chain.project_id == project_id), None)


# --- The key and the signature ---


def audit_key() -> bytes:
    """OPENCRF_AUDIT_KEY, else a key derived from the secret key under its own label."""
    configured = settings.OPENCRF_AUDIT_KEY
    if configured:
        return str(configured).encode()
    return hmac.new(str(settings.SECRET_KEY).encode(), KEY_LABEL, hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    """A fingerprint that tells keys apart without revealing them."""
    return hmac.new(key, b"key id", hashlib.sha256).hexdigest()[:16]


def _signature(body: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, orjson.dumps(body, option=orjson.OPT_SORT_KEYS), "sha256").hexdigest()


def checkpoint_document(checkpoint: Checkpoint, key: bytes | None = None) -> dict[str, Any]:
    """The signed JSON object of a checkpoint (files and backup manifests alike)."""
    key = key or audit_key()
    body: dict[str, Any] = {
        "kind": KIND,
        "format": FORMAT,
        "made_at": checkpoint.made_at.astimezone(UTC).isoformat(),
        "reason": checkpoint.reason,
        "restart": checkpoint.restart,
        "verification": dict(checkpoint.verification) if checkpoint.verification else None,
        "chains": [
            {"project": c.project_id, "count": c.count, "sequence": c.sequence, "hash": c.hash}
            for c in checkpoint.chains
        ],
        "key_id": key_id(key),
    }
    return {**body, "signature": _signature(body, key)}


def checkpoint_parse(document: object, *, source: str, key: bytes | None = None) -> Checkpoint:
    """The checkpoint in `document`, its signature checked; AnchorInvalid says what is wrong."""
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise AnchorInvalid(f"{source} is not an audit checkpoint")
    if document.get("format") != FORMAT:
        raise AnchorInvalid(f"{source} has an unknown format {document.get('format')!r}")
    key = key or audit_key()
    body = {name: value for name, value in document.items() if name != "signature"}
    if body.get("key_id") != key_id(key):
        raise AnchorInvalid(
            f"{source} was signed with another key: the audit key changed, or the checkpoint "
            "is forged"
        )
    signature = document.get("signature")
    if not isinstance(signature, str) or not hmac.compare_digest(signature, _signature(body, key)):
        raise AnchorInvalid(f"{source} does not match its signature: it was altered or forged")
    try:
        return _checkpoint_of(body, source)
    except (KeyError, TypeError, ValueError):
        raise AnchorInvalid(f"{source} is signed but malformed") from None


def _checkpoint_of(body: Mapping[str, Any], source: str) -> Checkpoint:
    return Checkpoint(
        made_at=datetime.fromisoformat(body["made_at"]),
        reason=str(body["reason"]),
        chains=tuple(
            ChainHead(int(c["project"]), int(c["count"]), int(c["sequence"]), str(c["hash"]))
            for c in body["chains"]
        ),
        restart=bool(body["restart"]),
        verification=body.get("verification"),
        source=source,
    )


# --- Reading the heads ---


def chain_heads(*, using: str = DEFAULT_DB_ALIAS) -> tuple[ChainHead, ...]:
    """Every chain's count, last sequence and head hash, in project order."""
    entries = AuditEvent.objects.using(using)
    rows = (
        entries.order_by()
        .values_list("project_id")
        .annotate(count=Count("id"), last=Max("sequence"))
        .order_by("project_id")
    )
    heads = []
    for project_id, count, last in rows:
        head = entries.filter(project_id=project_id, sequence=last).values_list("hash", flat=True)
        heads.append(ChainHead(project_id, count, last, head.get()))
    return tuple(heads)


def heads_from_summary(summary: Mapping[str, Mapping[str, Any]]) -> tuple[ChainHead, ...]:
    """A backup manifest's `audit_heads` ({project: {count, sequence, hash}}) as heads."""
    heads = [
        ChainHead(int(project), int(head["count"]), int(head["sequence"]), str(head["hash"]))
        for project, head in summary.items()
    ]
    return tuple(sorted(heads, key=lambda head: head.project_id))


def checkpoint_make(
    *,
    reason: str,
    restart: bool = False,
    verification: Mapping[str, Any] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> Checkpoint:
    return Checkpoint(
        made_at=datetime.now(UTC),
        reason=reason,
        chains=chain_heads(using=using),
        restart=restart,
        verification=verification,
    )


# --- Files in the storage ---


def checkpoint_write(checkpoint: Checkpoint, storage: Storage | None = None) -> str:
    """Save the signed checkpoint under `audit-anchors/`; returns its storage name."""
    storage = storage or default_storage
    stamp = checkpoint.made_at.astimezone(UTC).strftime(TIME_FORMAT)
    name = f"{FOLDER}/{stamp}-{secrets.token_hex(2)}.json"
    body = orjson.dumps(checkpoint_document(checkpoint), option=orjson.OPT_INDENT_2)
    saved = storage.save(name, ContentFile(body))
    return str(saved)


def checkpoint_names(storage: Storage | None = None) -> list[str]:
    """The storage names of every checkpoint file, oldest first (names sort by time)."""
    storage = storage or default_storage
    try:
        _folders, files = storage.listdir(FOLDER)
    except FileNotFoundError:  # no checkpoint written yet
        return []
    return [f"{FOLDER}/{name}" for name in sorted(files) if NAME.match(name)]


def checkpoint_read(name: str, storage: Storage | None = None) -> Checkpoint:
    storage = storage or default_storage
    try:
        with storage.open(name, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise AnchorInvalid(f"{name} is missing") from None
    if len(raw) > MAX_BYTES:
        raise AnchorInvalid(f"{name} is larger than any checkpoint")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AnchorInvalid(f"{name} is not valid JSON") from None
    return checkpoint_parse(document, source=name)


@dataclass(frozen=True, slots=True)
class StoredCheckpoints:
    """The checkpoint files read back: those that verify, and those refused (with why)."""

    valid: list[Checkpoint]
    refused: list[str]

    @property
    def newest(self) -> Checkpoint | None:
        return self.valid[-1] if self.valid else None

    def in_force(self) -> list[Checkpoint]:
        """The checkpoints from the newest restart on: those the trail must still match."""
        starts = [index for index, checkpoint in enumerate(self.valid) if checkpoint.restart]
        return self.valid[starts[-1] :] if starts else list(self.valid)


def checkpoints_read(storage: Storage | None = None) -> StoredCheckpoints:
    valid, refused = [], []
    for name in checkpoint_names(storage):
        try:
            valid.append(checkpoint_read(name, storage))
        except AnchorInvalid as error:
            refused.append(str(error))
    valid.sort(key=lambda checkpoint: checkpoint.made_at)
    return StoredCheckpoints(valid, refused)


# --- Pruning ---


def prune_plan(checkpoints: Iterable[tuple[str, Checkpoint]], now: datetime) -> list[str]:
    """The names to delete: all but the newest KEEP_NEWEST, the newest of each day (and of each
    day's verifications) for KEEP_DAYS days, the newest of each month before, and the newest
    restart (where comparison begins; a training instance makes one every night)."""
    ordered = sorted(checkpoints, key=lambda item: item[1].made_at)
    keep = {name for name, _checkpoint in ordered[-KEEP_NEWEST:]}
    keep.update([name for name, checkpoint in ordered if checkpoint.restart][-1:])
    newest_of: dict[tuple[str, bool], str] = {}
    for name, checkpoint in ordered:
        day = checkpoint.made_at.astimezone(UTC)
        recent = now - checkpoint.made_at <= timedelta(days=KEEP_DAYS)
        bucket = day.strftime("%Y-%m-%d") if recent else day.strftime("%Y-%m")
        newest_of[(bucket, False)] = name
        if checkpoint.verification is not None:
            newest_of[(bucket, True)] = name
    keep.update(newest_of.values())
    return [name for name, _checkpoint in ordered if name not in keep]


def checkpoints_prune(storage: Storage | None = None, *, now: datetime | None = None) -> list[str]:
    """Delete the checkpoints `prune_plan` lets go, except evidence: files that do not verify,
    and checkpoints in force that the trail no longer matches (a cut or a rewrite they saw;
    newer checkpoints, signed after the attack, would not show it)."""
    storage = storage or default_storage
    found = []
    for name in checkpoint_names(storage):
        try:
            found.append((name, checkpoint_read(name, storage)))
        except AnchorInvalid:
            continue  # evidence for the operator, never pruned
    in_force = _in_force(found)
    doomed = [
        name
        for name in prune_plan(found, now or datetime.now(UTC))
        if name not in in_force or not _contradicted(in_force[name])
    ]
    for name in doomed:
        storage.delete(name)
    return doomed


def _in_force(found: list[tuple[str, Checkpoint]]) -> dict[str, Checkpoint]:
    """The checkpoints from the newest restart on, by name: those the trail must match."""
    ordered = sorted(found, key=lambda item: item[1].made_at)
    starts = [index for index, (_name, checkpoint) in enumerate(ordered) if checkpoint.restart]
    return dict(ordered[starts[-1] :] if starts else ordered)


def _contradicted(checkpoint: Checkpoint) -> bool:
    from opencrf.audit.verify import heads_compare  # verify builds on this module

    return bool(heads_compare(checkpoint))
