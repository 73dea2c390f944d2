"""Signed checkpoints find what the chains alone cannot: a cut end, a chain deleted whole, and
a chain rewritten with every later hash recomputed; a forged checkpoint is refused.

Tampering lifts the triggers inside the test's transaction, as an administrator with database
access would (see test_verify.py); the checkpoints live in the test's own file storage.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from opencrf.audit import anchors
from opencrf.audit.anchors import (
    AnchorInvalid,
    ChainHead,
    Checkpoint,
    checkpoint_document,
    checkpoint_make,
    checkpoint_names,
    checkpoint_parse,
    checkpoint_write,
    checkpoints_prune,
    checkpoints_read,
    prune_plan,
)
from opencrf.audit.models import AuditEvent
from opencrf.audit.services import audit_hash, audit_payload
from opencrf.audit.tests.test_verify import PROJECT, _chain, _delete, _lift_triggers, _sql
from opencrf.audit.verify import heads_compare, verify_anchored

pytestmark = pytest.mark.django_db


def _checkpoint(**options):
    """Sign and keep a checkpoint of the trail as it is now; returns it as read back."""
    name = checkpoint_write(checkpoint_make(reason="test", **options))
    return anchors.checkpoint_read(name)


def _verify(**options):
    stored = checkpoints_read()
    return verify_anchored(stored.in_force(), refused=stored.refused, **options)


def _failures(result):
    return [(r.project_id, r.first_broken, r.reason) for r in result.chains if not r.ok]


def _rewrite_from(first, project_id=PROJECT):
    """Change entry `first` and recompute it and every later hash: a chain that still verifies."""
    previous = AuditEvent.objects.get(project_id=project_id, sequence=first - 1).hash
    entries = AuditEvent.objects.filter(project_id=project_id, sequence__gte=first)
    for entry in list(entries.order_by("sequence")):
        if entry.sequence == first:
            entry.reason = "rewritten"
        entry.prev_hash = previous
        entry.hash = audit_hash(previous, audit_payload(entry))
        _sql(
            "UPDATE audit_auditevent SET reason = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [entry.reason, entry.prev_hash, entry.hash, entry.pk],
        )
        previous = entry.hash


# --- An untouched trail ---


def test_an_untouched_trail_passes_against_its_checkpoints(paula_context):
    _chain(paula_context, project_id=0, length=2)
    _chain(paula_context, length=4)
    first = _checkpoint()
    _chain(paula_context, length=3)
    _checkpoint()

    result = _verify()

    assert result.ok
    assert [(r.project_id, r.entries_checked, r.anchored) for r in result.chains] == [
        (0, 2, 2),
        (PROJECT, 7, 2),
    ]
    assert first.head(PROJECT) == ChainHead(
        PROJECT, 4, 4, AuditEvent.objects.get(project_id=PROJECT, sequence=4).hash
    )


def test_the_chains_alone_pass_after_every_attack_below(paula_context):
    # The defect: without checkpoints, a cut end, a deleted chain and a rewrite all verify.
    _chain(paula_context, project_id=3, length=3)
    _chain(paula_context, length=10)
    _lift_triggers()
    _delete(10)
    _sql("DELETE FROM audit_auditevent WHERE project_id = %s", [3])
    _rewrite_from(5)

    result = verify_anchored([], now=datetime.now(UTC))

    assert result.ok


# --- Truncation ---


def test_entries_deleted_from_the_end_are_named_with_the_checkpoint_that_saw_them(paula_context):
    _chain(paula_context, length=10)
    checkpoint = _checkpoint()
    _lift_triggers()
    for sequence in (8, 9, 10):
        _delete(sequence)

    result = _verify()

    assert not result.ok
    assert _failures(result) == [
        (PROJECT, 8, f"entries 8–10 are missing from the end: {checkpoint.label} saw 10")
    ]
    assert checkpoint.label.startswith("the checkpoint of 20")
    assert checkpoint.label.endswith(f" UTC ({checkpoint.source})")


def test_the_last_entry_deleted_is_named_alone(paula_context):
    _chain(paula_context, length=3)
    checkpoint = _checkpoint()
    _lift_triggers()
    _delete(3)

    assert _failures(_verify()) == [
        (PROJECT, 3, f"entry 3 is missing from the end: {checkpoint.label} saw 3")
    ]


def test_a_chain_deleted_whole_is_named_by_its_project(paula_context):
    _chain(paula_context, project_id=3, length=5)
    _chain(paula_context, length=2)
    checkpoint = _checkpoint()
    _lift_triggers()
    _sql("DELETE FROM audit_auditevent WHERE project_id = %s", [3])

    result = _verify()

    assert _failures(result) == [
        (3, 1, f"the whole chain is missing: {checkpoint.label} saw 5 entries")
    ]
    assert [r.project_id for r in result.chains if r.ok] == [PROJECT]


def test_an_older_checkpoint_still_catches_a_cut_that_a_newer_one_saw(paula_context):
    _chain(paula_context, length=6)
    older = _checkpoint()
    _lift_triggers()
    _delete(6)
    _checkpoint()  # made after the cut: it saw 5

    assert _failures(_verify()) == [
        (PROJECT, 6, f"entry 6 is missing from the end: {older.label} saw 6")
    ]


# --- Rewriting ---


def test_a_rewrite_with_recomputed_hashes_names_the_first_rewritten_entry(paula_context):
    _chain(paula_context, length=4)
    before = _checkpoint()
    _chain(paula_context, length=6)
    after = _checkpoint()
    _lift_triggers()
    _rewrite_from(5)

    result = _verify()

    assert _failures(result) == [
        (
            PROJECT,
            5,
            f"entries 5–10 were rewritten (from one of them on): entry 10's hash differs from "
            f"{after.label}, entry 4 still matches {before.label}",
        )
    ]


def test_a_rewrite_of_the_anchored_entry_alone_is_named_exactly(paula_context):
    _chain(paula_context, length=4)
    _checkpoint()
    _chain(paula_context, length=1)
    after = _checkpoint()
    _lift_triggers()
    _rewrite_from(5)

    assert _failures(_verify()) == [
        (PROJECT, 5, f"entry 5 was rewritten: its hash differs from {after.label}")
    ]


def test_a_rewrite_before_the_only_checkpoint_is_bracketed_from_the_start(paula_context):
    _chain(paula_context, length=6)
    checkpoint = _checkpoint()
    _lift_triggers()
    _rewrite_from(2)

    assert _failures(_verify()) == [
        (
            PROJECT,
            1,
            "entries 1–6 were rewritten (from one of them on): entry 6's hash differs from "
            f"{checkpoint.label}",
        )
    ]


# --- Forged and altered checkpoints ---


def test_a_checkpoint_signed_with_another_key_is_refused(paula_context, settings):
    _chain(paula_context, length=3)
    settings.OPENCRF_AUDIT_KEY = "an attacker's key of their own choosing"
    forged = checkpoint_write(checkpoint_make(reason="forged"))
    settings.OPENCRF_AUDIT_KEY = ""

    result = _verify()

    assert result.refused == [
        f"{forged} was signed with another key: the audit key changed, or the checkpoint is forged"
    ]
    assert not result.ok
    assert result.checkpoints == []


def test_an_altered_checkpoint_is_refused_and_its_counts_are_not_believed(paula_context):
    _chain(paula_context, length=3)
    name = checkpoint_write(checkpoint_make(reason="test"))
    document = orjson.loads(default_storage.open(name).read())
    document["chains"][0]["count"] = document["chains"][0]["sequence"] = 99
    default_storage.delete(name)
    default_storage.save(name, ContentFile(orjson.dumps(document)))

    result = _verify()

    assert result.refused == [f"{name} does not match its signature: it was altered or forged"]
    assert [r.ok for r in result.chains] == [True]


def test_a_file_that_is_not_a_checkpoint_is_refused_by_name():
    with pytest.raises(AnchorInvalid, match=r"^cp\.json is not an audit checkpoint$"):
        checkpoint_parse({"kind": "something else"}, source="cp.json")


def test_the_key_is_derived_from_the_secret_key_under_its_own_label(settings):
    settings.OPENCRF_AUDIT_KEY = ""
    derived = anchors.audit_key()
    settings.SECRET_KEY = "another secret key, as after a rotation"
    assert anchors.audit_key() != derived
    assert derived != settings.SECRET_KEY.encode()
    settings.OPENCRF_AUDIT_KEY = "set apart"
    assert anchors.audit_key() == b"set apart"


# --- No anchors at all ---


def test_a_trail_older_than_two_hours_without_any_checkpoint_fails(paula_context):
    _chain(paula_context, length=1)
    later = datetime.now(UTC) + timedelta(hours=3)

    result = verify_anchored([], now=later)

    assert not result.ok
    assert result.problems[0].startswith("no checkpoint anchors the trail, although its entries")


def test_a_fresh_trail_without_a_checkpoint_yet_passes(paula_context):
    _chain(paula_context, length=1)
    assert verify_anchored([], now=datetime.now(UTC)).ok


# --- Restarts ---


def test_checkpoints_before_a_restart_are_not_compared(paula_context):
    _chain(paula_context, project_id=3, length=4)
    _checkpoint()
    _lift_triggers()
    _sql("DELETE FROM audit_auditevent WHERE project_id = %s", [3])  # as a training reset does
    restart = _checkpoint(restart=True)

    result = _verify()

    assert result.ok
    assert result.checkpoints == [restart]


# --- The quick hourly look ---


def test_heads_compare_names_a_cut_and_a_rewrite_without_walking(paula_context):
    _chain(paula_context, project_id=3, length=3)
    _chain(paula_context, length=4)
    checkpoint = _checkpoint()
    _lift_triggers()
    _delete(3, project_id=3)
    _rewrite_from(2)

    assert heads_compare(checkpoint) == [
        (3, f"entry 3 is missing from the end: {checkpoint.label} saw 3"),
        (
            PROJECT,
            "entries 1–4 were rewritten (from one of them on): entry 4's hash differs from "
            f"{checkpoint.label}",
        ),
    ]


# --- Pruning ---


def _dated(at, **options):
    return Checkpoint(made_at=at, reason="test", chains=(), **options)


def test_pruning_keeps_the_newest_each_day_each_month_and_the_newest_restart():
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    hourly = [(f"h{n}", _dated(now - timedelta(hours=n))) for n in range(24 * 40)]
    older_restart = ("older restart", _dated(now - timedelta(days=36, hours=5), restart=True))
    restart = ("restart", _dated(now - timedelta(days=35, hours=5), restart=True))
    verified = ("verified", _dated(now - timedelta(days=2, hours=10), verification={"ok": True}))
    every = [*hourly, older_restart, restart, verified]

    doomed = set(prune_plan(every, now))

    kept = {name for name, _c in every} - doomed
    assert {f"h{n}" for n in range(24)} <= kept  # the newest 24
    assert {"restart", "verified"} <= kept
    assert "older restart" in doomed
    assert "h24" not in kept and "h37" in kept  # h37 is 23:00 on 2026-12-05, that day's newest
    # The newest 24 (back to 2026-12-06), 30 more days, November and October, the restart and
    # the day's newest verification.
    assert len(kept) == 24 + 30 + 2 + 1 + 1


def test_pruning_deletes_files_but_never_one_that_does_not_verify(paula_context, monkeypatch):
    monkeypatch.setattr(anchors, "KEEP_NEWEST", 1)
    _chain(paula_context, length=1)
    january = checkpoint_write(Checkpoint(datetime(2026, 1, 2, tzinfo=UTC), "test", ()))
    earlier = checkpoint_write(Checkpoint(datetime(2026, 1, 1, tzinfo=UTC), "test", ()))
    unsigned = f"{anchors.FOLDER}/20250101T000000000000Z-0000.json"
    default_storage.save(unsigned, ContentFile(b"not a checkpoint"))
    newest = checkpoint_write(checkpoint_make(reason="test"))

    deleted = checkpoints_prune(now=datetime.now(UTC))

    assert deleted == [earlier]  # January keeps its newest; the newest stays
    assert checkpoint_names() == sorted([unsigned, january, newest])


def test_pruning_keeps_every_checkpoint_in_force_that_the_trail_no_longer_matches(
    paula_context, monkeypatch
):
    # Found by outside testing: after a cut, the hourly job signed the shorter trail, found
    # nothing against that newest checkpoint, and within a day pruned the only checkpoint that
    # saw the deleted entries; the daily verification then passed and cleared the alert.
    monkeypatch.setattr(anchors, "KEEP_NEWEST", 1)
    _chain(paula_context, length=5)
    saw_the_rewritten_entry = _checkpoint()
    _chain(paula_context, length=1)
    saw_the_cut_entry = _checkpoint()
    _lift_triggers()
    _delete(6)
    _rewrite_from(5)
    later = [_checkpoint() for _ in range(3)]  # the hourly job, after the attack

    deleted = checkpoints_prune(now=datetime.now(UTC))

    assert sorted(deleted) == sorted(checkpoint.source for checkpoint in later[:-1])
    assert checkpoint_names() == sorted(
        [saw_the_cut_entry.source, saw_the_rewritten_entry.source, later[-1].source]
    )
    assert not _verify().ok


def test_pruning_lets_go_of_checkpoints_from_before_a_restart_that_no_longer_match(
    paula_context, monkeypatch
):
    monkeypatch.setattr(anchors, "KEEP_NEWEST", 1)
    _chain(paula_context, length=3)
    before = _checkpoint()
    _lift_triggers()
    _sql("DELETE FROM audit_auditevent WHERE project_id = %s", [PROJECT])  # a training reset
    restart = _checkpoint(restart=True)
    newest = _checkpoint()

    deleted = checkpoints_prune(now=datetime.now(UTC))

    assert deleted == [before.source]
    assert checkpoint_names() == sorted([restart.source, newest.source])


def test_a_checkpoint_document_round_trips(paula_context):
    _chain(paula_context, length=2)
    checkpoint = checkpoint_make(reason="test", verification={"ok": True, "problems": 0})

    assert checkpoint_parse(checkpoint_document(checkpoint), source="x") == checkpoint


def test_checkpoints_are_written_through_the_storage_api_under_their_folder(paula_context):
    with transaction.atomic():
        name = checkpoint_write(checkpoint_make(reason="test"))
    assert name.startswith("audit-anchors/") and default_storage.exists(name)
