"""Recompute audit hash chains and name the first entry that does not hold (`opencrf audit verify`).

A chain is read in `sequence` order through a database iterator, so memory stays flat however
long the chain is. Each entry is checked three ways, in this order: its sequence follows the
previous one without a gap, its `prev_hash` is the previous entry's `hash`, and its `hash` is
`audit_hash(prev_hash, audit_payload(entry))`. The walk stops at the first failure.

A chain cut short at its end, deleted whole, or rewritten with every later hash recomputed
still passes those checks. `verify_anchored` therefore also compares each chain with the signed
checkpoints of `anchors.py`: an entry a checkpoint saw must still be there with the hash the
checkpoint saw, and every chain a checkpoint saw must still exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Max, Min

from opencrf.audit.anchors import Checkpoint
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import GENESIS_HASH, audit_hash, audit_payload

CHUNK_SIZE = 2000
# A trail whose entries are older than this ought to be anchored by an hourly checkpoint.
UNANCHORED_GRACE = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of checking one chain.

    `head_hash` is the hash of the last entry found sound: the chain's head when `ok`, and
    `GENESIS_HASH` for an empty chain. Reasons are plain English for operators (the command
    line is not translated). `anchored` counts the checkpoints that saw this chain.
    """

    project_id: int
    entries_checked: int
    ok: bool
    first_broken: int | None
    reason: str | None
    head_hash: str
    anchored: int = 0


@dataclass(frozen=True, slots=True)
class AnchorPoint:
    """What one checkpoint saw of one chain: its entry `sequence` had `hash`."""

    sequence: int
    hash: str
    label: str


def verify_chain(
    project_id: int, *, using: str = DEFAULT_DB_ALIAS, anchors: Sequence[AnchorPoint] = ()
) -> ChainReport:
    """Check every entry of the chain of `project_id` (0 for the system chain) in `using`,
    and that it still holds every entry the `anchors` saw, with the hashes they saw."""
    entries = (
        AuditEvent.objects.using(using)
        .filter(project_id=project_id)
        .order_by("sequence")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    walk = _Walk(project_id, sorted(anchors, key=lambda point: point.sequence))
    for entry in entries:
        problem = walk.step(entry)
        if problem is not None:
            return walk.report(problem)
    return walk.report(walk.truncation())


@dataclass
class _Walk:
    """The state of one chain's walk: the last sound entry and the anchors still ahead."""

    project_id: int
    anchors: list[AnchorPoint]
    sequence: int = 0
    hash: str = GENESIS_HASH
    checked: int = 0
    matched: AnchorPoint | None = None
    _next: int = 0

    def step(self, entry: AuditEvent) -> tuple[int, str] | None:
        self.checked += 1
        problem = _entry_problem(entry, self.sequence, self.hash)
        if problem is None:
            problem = self._anchor_problem(entry)
        if problem is None:
            self.sequence, self.hash = entry.sequence, entry.hash
        return problem

    def _anchor_problem(self, entry: AuditEvent) -> tuple[int, str] | None:
        while (
            self._next < len(self.anchors) and self.anchors[self._next].sequence <= entry.sequence
        ):
            point = self.anchors[self._next]
            self._next += 1
            if point.sequence != entry.sequence:
                continue  # an entry that is missing was named by the walk already
            if point.hash != entry.hash:
                return self.rewritten(point)
            self.matched = point
        return None

    def rewritten(self, point: AnchorPoint) -> tuple[int, str]:
        first = self.matched.sequence + 1 if self.matched else 1
        differs = f"entry {point.sequence}'s hash differs from {point.label}"
        if first == point.sequence:
            return first, f"entry {first} was rewritten: its hash differs from {point.label}"
        reason = f"entries {first}–{point.sequence} were rewritten (from one of them on): {differs}"
        if self.matched is not None:
            reason += f", entry {self.matched.sequence} still matches {self.matched.label}"
        return first, reason

    def truncation(self) -> tuple[int, str] | None:
        """The entries at the end that a checkpoint saw and the chain no longer holds."""
        if not self.anchors:
            return None
        furthest = max(self.anchors, key=lambda point: point.sequence)
        if furthest.sequence <= self.sequence:
            return None
        first, last = self.sequence + 1, furthest.sequence
        saw = f"{furthest.label} saw {last}"
        if self.checked == 0:
            return 1, f"the whole chain is missing: {saw} entries"
        if first == last:
            return first, f"entry {first} is missing from the end: {saw}"
        return first, f"entries {first}–{last} are missing from the end: {saw}"

    def report(self, problem: tuple[int, str] | None) -> ChainReport:
        anchored = len({point.label for point in self.anchors})
        if problem is None:
            return ChainReport(self.project_id, self.checked, True, None, None, self.hash, anchored)
        broken, reason = problem
        return ChainReport(
            self.project_id, self.checked, False, broken, reason, self.hash, anchored
        )


def verify_all(*, using: str = DEFAULT_DB_ALIAS) -> list[ChainReport]:
    """Check every chain present, the system chain (0) included, in project order."""
    return [verify_chain(project_id, using=using) for project_id in _chains(using)]


def _chains(using: str) -> list[int]:
    # An explicit order_by: the model's default ordering would add `sequence` to the DISTINCT.
    return list(
        AuditEvent.objects.using(using)
        .order_by("project_id")
        .values_list("project_id", flat=True)
        .distinct()
    )


@dataclass(frozen=True, slots=True)
class AnchoredVerification:
    """Every chain checked against itself and against the checkpoints in force.

    `refused` names checkpoints whose signature failed (forged, altered, or another key);
    `problems` what else is wrong with the anchoring (a trail no checkpoint anchors).
    """

    chains: list[ChainReport]
    checkpoints: list[Checkpoint]
    refused: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused and not self.problems and all(c.ok for c in self.chains)

    @property
    def newest(self) -> Checkpoint | None:
        return max(self.checkpoints, key=lambda c: c.made_at) if self.checkpoints else None


def verify_anchored(
    checkpoints: Sequence[Checkpoint],
    *,
    refused: Iterable[str] = (),
    project_id: int | None = None,
    using: str = DEFAULT_DB_ALIAS,
    now: datetime | None = None,
) -> AnchoredVerification:
    """Check every chain (or one) present or anchored by `checkpoints`, against them all."""
    points = anchor_points(checkpoints)
    chains = sorted(set(_chains(using)) | set(points))
    if project_id is not None:
        chains = [project_id]
    reports = [verify_chain(c, using=using, anchors=points.get(c, ())) for c in chains]
    problems = []
    if not checkpoints and project_id is None:
        problems += _unanchored(using, now or datetime.now(UTC))
    return AnchoredVerification(reports, list(checkpoints), list(refused), problems)


def anchor_points(checkpoints: Iterable[Checkpoint]) -> dict[int, list[AnchorPoint]]:
    """Per chain, what each checkpoint saw of it."""
    points: dict[int, list[AnchorPoint]] = defaultdict(list)
    for checkpoint in checkpoints:
        for head in checkpoint.chains:
            points[head.project_id].append(AnchorPoint(head.sequence, head.hash, checkpoint.label))
    return dict(points)


def _unanchored(using: str, now: datetime) -> list[str]:
    oldest = AuditEvent.objects.using(using).aggregate(oldest=Min("at"))["oldest"]
    if oldest is None or now - oldest < UNANCHORED_GRACE:
        return []
    since = oldest.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"no checkpoint anchors the trail, although its entries go back to {since}: the "
        "checkpoints were removed, or none was ever made (is the job worker running?)"
    ]


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


def heads_compare(
    checkpoint: Checkpoint, *, using: str = DEFAULT_DB_ALIAS
) -> list[tuple[int, str]]:
    """A quick look, without walking the chains: (chain, reason) for each chain that is shorter
    than `checkpoint` saw it, or whose entry at the anchored sequence has another hash."""
    entries = AuditEvent.objects.using(using)
    last = dict(
        entries.order_by()
        .values_list("project_id")
        .annotate(last=Max("sequence"))
        .values_list("project_id", "last")
    )
    found = []
    for head in checkpoint.chains:
        walk = _Walk(head.project_id, [AnchorPoint(head.sequence, head.hash, checkpoint.label)])
        walk.sequence = last.get(head.project_id, 0)
        walk.checked = walk.sequence
        problem = walk.truncation()
        if problem is None:
            at = entries.filter(project_id=head.project_id, sequence=head.sequence)
            if at.values_list("hash", flat=True).first() != head.hash:
                problem = walk.rewritten(walk.anchors[0])
        if problem is not None:
            found.append((head.project_id, problem[1]))
    return found
