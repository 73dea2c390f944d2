"""Each backup carries a signed checkpoint of the audit chains, and `opencrf audit verify
--anchor <backup>` compares the trail with it: an administrator who cuts the trail and deletes
the checkpoint files too is still caught by the copy in the backup."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection, transaction

from opencrf.audit.anchors import (
    checkpoint_make,
    checkpoint_names,
    checkpoint_parse,
    checkpoint_read,
    checkpoint_write,
)
from opencrf.audit.services import audit_event_create
from opencrf.cli import main
from opencrf.ops.alerts.evaluate import audit_chains_evaluate, audit_checkpoint_evaluate
from opencrf.ops.backups import audit_anchor
from opencrf.ops.backups.audit_anchor import checkpoint_from
from opencrf.ops.backups.create import backup_create
from opencrf.ops.backups.manifest import backup_key, load_contents, read_manifest
from opencrf.ops.backups.store import S3Store, backup_store
from opencrf.ops.models import Incident
from opencrf.ops.tests.test_backup import KEY, backup_settings  # noqa: F401 (a fixture)

PROJECT = 3


def _append(context, count):
    for _ in range(count):
        with transaction.atomic():
            audit_event_create(context=context, project_id=PROJECT, action="test.action")


def _cut_from(sequence):
    """Delete the chain's entries from `sequence` on, as an administrator with database access
    would: lift the trigger, delete, put it back (each statement commits in this test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            trigger = "audit_auditevent_no_change"
            cursor.execute(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {trigger}")
            cursor.execute(
                "DELETE FROM audit_auditevent WHERE project_id = %s AND sequence >= %s",
                [PROJECT, sequence],
            )
            cursor.execute(f"ALTER TABLE audit_auditevent ENABLE TRIGGER {trigger}")
            return
        cursor.execute("DROP TRIGGER audit_auditevent_no_delete")
        cursor.execute(
            "DELETE FROM audit_auditevent WHERE project_id = %s AND sequence >= %s",
            [PROJECT, sequence],
        )
        cursor.execute(
            "CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent "
            "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END"
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_backup_anchors_the_trail_after_the_checkpoint_files_are_deleted(
    backup_settings,  # noqa: F811
    paula_context,
    capsys,
    encrypted,
):
    backup_settings.OPENCRF_BACKUP_KEY = KEY if encrypted else ""
    _append(paula_context, 5)
    run = backup_create(trigger="manual")

    store = backup_store()
    manifest = read_manifest(store, run.backup_id)
    contents = load_contents(store, manifest, backup_key(manifest))
    in_backup = checkpoint_parse(contents["audit_checkpoint"], source="backup")
    assert [(h.project_id, h.count, h.sequence) for h in in_backup.chains] == [(PROJECT, 5, 5)]
    assert in_backup.reason == f"backup {run.backup_id}"
    assert ("audit_checkpoint" in json.dumps(manifest)) is not encrypted  # secret when encrypted
    (kept,) = checkpoint_names()
    assert checkpoint_read(kept) == in_backup

    default_storage.delete(kept)
    _cut_from(4)
    assert main(["audit", "verify", "--no-backups"]) == 0  # the database alone looks sound
    capsys.readouterr()

    # By default, as the jobs do, and once however often the backup is named.
    for arguments in ([], ["--anchor", run.backup_id]):
        assert main(["audit", "verify", *arguments]) == 1

        output = capsys.readouterr()
        fail, summary = output.out.splitlines()
        assert re.fullmatch(
            r"FAIL project 3: entries 4–5 are missing from the end: the checkpoint of "
            rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(backup {run.backup_id}\) saw 5",
            fail,
        )
        assert summary.startswith("Compared with 1 checkpoint(s)")
        assert output.err == "opencrf audit: 1 of 1 audit chain(s) broken\n"


@pytest.mark.django_db
def test_a_manifest_from_before_signed_checkpoints_anchors_as_unsigned_heads(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "backup_id": "20261201T023000Z-00aa",
                "created_at": "2026-12-01T02:30:00+00:00",
                "contents": {"audit_heads": {"3": {"count": 2, "sequence": 2, "hash": "ab" * 32}}},
            }
        )
    )

    checkpoint = checkpoint_from(str(manifest))

    assert checkpoint.signed is False
    assert checkpoint.label == (
        "the unsigned heads of 2026-12-01 02:30:00 UTC (backup 20261201T023000Z-00aa)"
    )
    assert [(h.project_id, h.count) for h in checkpoint.chains] == [(PROJECT, 2)]


@pytest.mark.django_db(transaction=True)
def test_the_hourly_job_raises_the_alert_when_the_checkpoint_files_vanished(
    backup_settings,  # noqa: F811
    paula_context,
):
    backup_settings.LANGUAGE_CODE = "en"
    _append(paula_context, 3)
    backup_create(trigger="manual")
    for name in checkpoint_names():
        default_storage.delete(name)
    _cut_from(3)

    assert audit_checkpoint_evaluate() == "opened"

    incident = Incident.objects.get(key="audit_chain_broken")
    assert incident.detail == "The audit chain of project(s) 3, checkpoints does not verify."


@pytest.mark.django_db(transaction=True)
def test_the_daily_verification_also_compares_with_the_newest_backup(
    backup_settings,  # noqa: F811
    paula_context,
):
    backup_settings.LANGUAGE_CODE = "en"
    _append(paula_context, 2)
    backup_create(trigger="manual")
    for name in checkpoint_names():
        default_storage.delete(name)
    _cut_from(2)

    assert audit_chains_evaluate() == "opened"

    incident = Incident.objects.get(key="audit_chain_broken")
    assert incident.detail == "The audit chain of project(s) 3 does not verify."


@pytest.mark.django_db(transaction=True)
def test_a_later_backup_of_a_cut_trail_does_not_clear_what_an_earlier_kept_backup_saw(
    backup_settings,  # noqa: F811
    paula_context,
):
    # Found by outside testing: checkpoint files deleted and the end cut; the hourly job opened
    # the alert from the newest backup, then the next night's backup saw the cut trail, the
    # daily verification compared with it alone, passed and cleared the alert, although the
    # earlier backup, still kept, saw the entries.
    backup_settings.LANGUAGE_CODE = "en"
    _append(paula_context, 4)
    earlier = backup_create(trigger="manual")
    for name in checkpoint_names():
        default_storage.delete(name)
    _cut_from(3)
    assert audit_checkpoint_evaluate() == "opened"
    backup_create(trigger="scheduled")

    assert audit_chains_evaluate() == "firing"
    assert Incident.objects.get(key="audit_chain_broken").status == "open"
    assert main(["audit", "verify", "--anchor", earlier.backup_id]) == 1
    assert main(["audit", "verify"]) == 1  # the command compares with every kept backup too


@pytest.mark.django_db(transaction=True)
def test_a_backup_made_before_the_newest_restart_is_not_compared(
    backup_settings,  # noqa: F811
    paula_context,
    capsys,
):
    # A live restore of an older backup legitimately shortens the trail; it signs a restart.
    _append(paula_context, 4)
    backup_create(trigger="manual")
    _cut_from(3)
    checkpoint_write(checkpoint_make(reason="restore of an older backup", restart=True))

    assert main(["audit", "verify"]) == 0

    assert capsys.readouterr().out.splitlines()[0].startswith("ok   project 3: 2 entries, ")


class _Unreachable:
    """An S3 client whose endpoint does not answer."""

    def get_paginator(self, name):
        raise ConnectionError('Could not connect to the endpoint URL: "https://s3.invalid/"')


@pytest.mark.django_db(transaction=True)
def test_a_backup_store_that_cannot_be_read_is_named_as_a_warning(
    backup_settings,  # noqa: F811
    paula_context,
    capsys,
    monkeypatch,
):
    _append(paula_context, 2)
    store = S3Store(_Unreachable(), "trial-backups", "opencrf")
    monkeypatch.setattr(audit_anchor, "backup_store", lambda: store)

    assert main(["audit", "verify"]) == 0  # the checkpoint files still anchor the trail

    output = capsys.readouterr()
    assert output.err == (
        "opencrf audit: warning: the backup store s3://trial-backups/opencrf cannot be read: "
        'Could not connect to the endpoint URL: "https://s3.invalid/"; not compared '
        "(--no-backups skips the backups)\n"
    )
    assert main(["audit", "verify", "--no-backups"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.django_db(transaction=True)
def test_an_encrypted_backup_without_its_key_is_named_and_the_others_still_count(
    backup_settings,  # noqa: F811
    paula_context,
    capsys,
):
    _append(paula_context, 3)
    backup_settings.OPENCRF_BACKUP_KEY = KEY
    locked = backup_create(trigger="manual")
    backup_settings.OPENCRF_BACKUP_KEY = ""
    plain = backup_create(trigger="manual")
    for name in checkpoint_names():
        default_storage.delete(name)
    _cut_from(3)

    assert main(["audit", "verify"]) == 1

    output = capsys.readouterr()
    assert output.out.splitlines()[0].startswith(
        "FAIL project 3: entry 3 is missing from the end: the checkpoint of "
    )
    assert f"(backup {plain.backup_id}) saw 3" in output.out
    assert output.err.splitlines()[0] == (
        f"opencrf audit: warning: backup {locked.backup_id} cannot be read: backup "
        f"{locked.backup_id} is encrypted: set OPENCRF_BACKUP_KEY; not compared "
        "(--no-backups skips the backups)"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("live", "problems", "restarted"), [(True, [], True), (False, [], False), (True, ["x"], False)]
)
def test_only_a_sound_live_restore_restarts_the_checkpoints(monkeypatch, live, problems, restarted):
    # The steps of a restore are replaced: what is tested is the choice made after them.
    from opencrf.audit.anchors import checkpoints_read
    from opencrf.ops.backups import restore
    from opencrf.ops.backups.restore import Target, VerifyReport

    backup_id = "20261201T023000Z-00aa"
    target = Target("sqlite", {}, default_storage, live=live)
    monkeypatch.setattr(restore, "open_backup", lambda backup_id, store: (None, []))
    monkeypatch.setattr(restore, "target_for", lambda into, url: target)
    monkeypatch.setattr(restore, "_refuse_unsafe_target", lambda *args: None)
    monkeypatch.setattr(restore, "_restore", lambda *args, replace: {})
    monkeypatch.setattr(
        restore, "verify_restored", lambda *args: VerifyReport(backup_id, problems=list(problems))
    )

    restore.restore_into(backup_id, into=Path("/nonexistent"), replace=True)

    found = [(c.reason, c.restart) for c in checkpoints_read().valid]
    assert found == ([(f"restore of backup {backup_id}", True)] if restarted else [])


@pytest.mark.django_db(transaction=True)
def test_the_hourly_job_names_the_chain_an_earlier_kept_backup_saw_longer(
    backup_settings,  # noqa: F811
    paula_context,
):
    backup_settings.LANGUAGE_CODE = "en"
    _append(paula_context, 4)
    backup_create(trigger="manual")
    _cut_from(3)
    backup_create(trigger="scheduled")  # sees the cut trail
    for name in checkpoint_names():
        default_storage.delete(name)

    assert audit_checkpoint_evaluate() == "opened"

    incident = Incident.objects.get(key="audit_chain_broken")
    assert incident.detail == "The audit chain of project(s) 3, checkpoints does not verify."
