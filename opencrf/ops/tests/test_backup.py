"""Backups: what a backup holds, encryption, the stores (folder and a real S3), retention, CLI."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from opencrf.cli import main
from opencrf.ops.backups import crypto
from opencrf.ops.backups.create import backup_create, runs_mark_interrupted
from opencrf.ops.backups.errors import (
    BackupFailed,
    CorruptBackup,
    InvalidBackupId,
    WrongKey,
)
from opencrf.ops.backups.manifest import backup_key, load_contents, read_manifest
from opencrf.ops.backups.restore import restore_verify
from opencrf.ops.backups.retention import retention_apply, retention_plan
from opencrf.ops.backups.store import (
    BackupEntry,
    backup_store,
    validate_backup_id,
)
from opencrf.ops.backups.tasks import drill_run, manual_backup, scheduled_backup
from opencrf.ops.models import BackupRun, DrillRun, RunStatus
from opencrf.testing.audit import lift_audit_triggers_for_the_flush
from opencrf.testing.s3 import s3_backup_settings, s3_server  # noqa: F401 (fixtures)

TOKYO = ZoneInfo("Asia/Tokyo")
KEY = "correct horse battery staple backup"
FILES = {
    "projects/1/a.txt": b"alpha\n",
    "projects/1/sub/b.bin": bytes(range(256)) * 300,
    "projects/2/c.csv": "名前,値\n".encode(),
}


@pytest.fixture
def backup_settings(settings, tmp_path):
    """Backups in this test's folder; the audit trail emptied afterwards (see below)."""
    settings.OPENCRF_BACKUP_DIR = tmp_path / "backups"
    settings.OPENCRF_SCRATCH_DIR = tmp_path / "scratch"
    settings.OPENCRF_BACKUP_S3_URL = ""
    settings.OPENCRF_BACKUP_KEY = ""
    settings.TIME_ZONE = "Asia/Tokyo"
    yield settings
    lift_audit_triggers_for_the_flush()


def put_files(files: dict[str, bytes] = FILES) -> None:
    for name, content in files.items():
        assert default_storage.save(name, ContentFile(content)) == name


@pytest.fixture
def study(backup_settings):
    """The demo study (records, audit chain) and three uploaded files."""
    from opencrf.demo.loader import load_demo

    project, _created = load_demo()
    put_files()
    return project


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- What a backup holds ---


@pytest.mark.django_db(transaction=True)
def test_a_backup_lists_every_file_table_migration_and_audit_head(study):
    run = backup_create(trigger="manual")

    manifest = read_manifest(backup_store(), run.backup_id)
    contents = manifest["contents"]
    assert manifest["database_vendor"] == connection.vendor
    assert manifest["encrypted"] is False
    assert sorted(manifest["parts"]) == ["database." + _db_suffix(), "files.tar"]
    assert contents["files"] == [
        {"name": name, "size": len(data), "sha256": sha256(data)}
        for name, data in sorted(FILES.items(), key=lambda item: _walk_order(item[0]))
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM records_formdata")
        assert contents["tables"]["records_formdata"] == cursor.fetchone()[0] > 0
        cursor.execute("SELECT COUNT(*) FROM django_migrations")
        assert len(contents["migrations"]) == cursor.fetchone()[0]
    from opencrf.audit.models import AuditEvent

    last = AuditEvent.objects.filter(project_id=study.pk).order_by("-sequence").first()
    assert contents["audit_heads"][str(study.pk)] == {
        "count": AuditEvent.objects.filter(project_id=study.pk).count(),
        "sequence": last.sequence,
        "hash": last.hash,
    }
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert run.verified_at is not None
    assert run.file_count == 3
    assert run.size_bytes == backup_store().list()[0].size_bytes
    assert run.summary["audit_heads"] == contents["audit_heads"]


def _db_suffix() -> str:
    return "sqlite3" if connection.vendor == "sqlite" else "pgdump"


def _walk_order(name: str) -> tuple[int, str]:
    # storage_names walks files of a folder before its subfolders.
    return {"projects/1/a.txt": 0, "projects/1/sub/b.bin": 1, "projects/2/c.csv": 2}[name], name


@pytest.mark.django_db(transaction=True)
def test_backup_ids_sort_chronologically_and_path_characters_are_refused(backup_settings):
    first = backup_create(trigger="manual").backup_id
    second = backup_create(trigger="manual").backup_id
    assert first < second
    assert validate_backup_id(first) == first
    for hostile in ("../20261202T025900Z-3fa2", "20261202T025900Z-3fa2/..", "/etc", "a/b", ""):
        with pytest.raises(InvalidBackupId):
            validate_backup_id(hostile)
        with pytest.raises(InvalidBackupId):
            backup_store().read_manifest(hostile)


# --- Encryption ---


@pytest.mark.django_db(transaction=True)
def test_an_encrypted_backup_shows_nothing_of_the_study_in_clear(study, backup_settings):
    backup_settings.OPENCRF_BACKUP_KEY = KEY
    run = backup_create(trigger="manual")

    folder = Path(backup_settings.OPENCRF_BACKUP_DIR) / run.backup_id
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["encrypted"] is True
    assert manifest["contents"] is None
    assert sorted(manifest["parts"]) == ["contents.json", "database." + _db_suffix(), "files.tar"]
    everything = b"".join(path.read_bytes() for path in sorted(folder.iterdir()))
    for clear in (b"projects/1/a.txt", b"alpha\n", "名前".encode(), b"records_formdata"):
        assert clear not in everything
    assert study.title.encode() not in everything
    assert restore_verify(run.backup_id).ok is True


@pytest.mark.django_db(transaction=True)
def test_a_wrong_or_missing_key_is_refused_clearly(study, backup_settings):
    backup_settings.OPENCRF_BACKUP_KEY = KEY
    backup_id = backup_create(trigger="manual").backup_id
    manifest = read_manifest(backup_store(), backup_id)

    backup_settings.OPENCRF_BACKUP_KEY = "another passphrase of some length"
    with pytest.raises(WrongKey, match="encrypted with another key than OPENCRF_BACKUP_KEY"):
        backup_key(manifest)
    report = restore_verify(backup_id)
    assert report.ok is False
    assert report.problems == [
        f"backup {backup_id} is encrypted with another key than OPENCRF_BACKUP_KEY"
    ]
    backup_settings.OPENCRF_BACKUP_KEY = ""
    with pytest.raises(WrongKey, match="is encrypted: set OPENCRF_BACKUP_KEY"):
        backup_key(manifest)


def _frames(key: bytes, data: bytes, part: str = "files.tar") -> bytes:
    import io

    sink = io.BytesIO()
    writer = crypto.EncryptingWriter(sink, key, "20261202T025900Z-3fa2", part)
    writer.write(data)
    writer.close()
    return sink.getvalue()


def _decrypt(key: bytes, sealed: bytes, part: str = "files.tar") -> bytes:
    import io

    return crypto.DecryptingReader(io.BytesIO(sealed), key, "20261202T025900Z-3fa2", part).read()


def test_encrypted_parts_round_trip_and_every_tampering_is_detected():
    key = os.urandom(32)
    data = os.urandom(crypto.CHUNK_SIZE * 2 + 1000)  # three frames
    sealed = _frames(key, data)
    assert _decrypt(key, sealed) == data
    frame = 4 + crypto.NONCE_SIZE + crypto.CHUNK_SIZE + crypto.TAG_SIZE

    flipped = bytearray(sealed)
    flipped[frame + 100] ^= 1
    with pytest.raises(CorruptBackup, match="fails authentication at frame 1"):
        _decrypt(key, bytes(flipped))
    with pytest.raises(CorruptBackup, match="its final frame is missing"):
        _decrypt(key, sealed[: 2 * frame])  # cut on a frame boundary
    with pytest.raises(CorruptBackup, match="truncated inside frame 2"):
        _decrypt(key, sealed[:-5])
    swapped = sealed[frame : 2 * frame] + sealed[:frame] + sealed[2 * frame :]
    with pytest.raises(CorruptBackup, match="fails authentication at frame 0"):
        _decrypt(key, swapped)
    with pytest.raises(CorruptBackup, match="fails authentication at frame 0"):
        _decrypt(key, sealed, part="database.sqlite3")  # a part moved under another name
    with pytest.raises(CorruptBackup, match="data after its final frame"):
        _decrypt(key, sealed + sealed[:frame])
    assert _decrypt(key, _frames(key, b"")) == b""


@pytest.mark.django_db(transaction=True)
def test_a_tampered_or_truncated_part_in_the_store_fails_verification(study, backup_settings):
    backup_settings.OPENCRF_BACKUP_KEY = KEY
    backup_id = backup_create(trigger="manual").backup_id
    part = Path(backup_settings.OPENCRF_BACKUP_DIR) / backup_id / "files.tar"
    original = part.read_bytes()

    part.write_bytes(original[:-100])
    report = restore_verify(backup_id)
    assert report.ok is False
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"part files.tar: {len(original) - 100} bytes")

    tampered = bytearray(original)
    tampered[200] ^= 0xFF
    part.write_bytes(bytes(tampered))
    assert restore_verify(backup_id).problems[0].startswith(f"part files.tar: {len(original)}")
    part.write_bytes(original)
    assert restore_verify(backup_id).ok is True


# --- Failures and interruptions never cost an older backup ---


@pytest.mark.django_db(transaction=True)
def test_a_failed_backup_is_recorded_and_leaves_older_backups_alone(
    study, backup_settings, monkeypatch
):
    good = backup_create(trigger="manual")
    from opencrf.ops.backups import create

    def broken(storage, sink):
        sink.write(b"x" * 1000)
        raise OSError("disk full")

    monkeypatch.setattr(create, "write_files_tar", broken)
    with pytest.raises(BackupFailed, match="OSError: disk full"):
        backup_create(trigger="schedule")

    failed = BackupRun.objects.exclude(pk=good.pk).get()
    assert (failed.status, failed.error) == (RunStatus.FAILED, "OSError: disk full")
    assert [(e.backup_id, e.complete) for e in backup_store().list()] == [(good.backup_id, True)]
    assert restore_verify(good.backup_id).ok is True


@pytest.mark.django_db(transaction=True)
def test_a_running_backup_whose_process_is_gone_is_marked_interrupted(backup_settings):
    store = backup_store()
    writer = store.open_writer("20261202T025900Z-3fa2", "files.tar")
    writer.write(b"half")
    writer.close()
    dead = BackupRun.objects.create(
        backup_id="20261202T025900Z-3fa2", trigger="schedule", node=_node(), pid=_dead_pid()
    )
    alive = BackupRun.objects.create(
        backup_id="20261202T030000Z-aaaa", trigger="manual", node=_node(), pid=os.getpid()
    )

    assert [run.backup_id for run in runs_mark_interrupted()] == [dead.backup_id]

    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, alive.status) == (RunStatus.INTERRUPTED, RunStatus.RUNNING)
    assert store.list() == []
    with pytest.raises(BackupFailed, match=r"another backup \(20261202T030000Z-aaaa"):
        backup_create(trigger="manual")


def _node() -> str:
    import socket

    return socket.gethostname()


def _dead_pid() -> int:
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


# --- Retention ---


def _entry(backup_id: str, complete: bool = True) -> BackupEntry:
    created = datetime.strptime(backup_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return BackupEntry(backup_id, created, 10, False, complete)


def test_retention_keeps_the_newest_of_each_of_the_last_days_and_weeks():
    # Daily backups at 02:30 Tokyo (17:30 UTC the day before) from 1 Nov to 2 Dec 2026,
    # a second manual one on 1 Dec, and a gap from 20 to 24 Nov.
    ids = []
    day = datetime(2026, 10, 31, 17, 30, tzinfo=UTC)
    while day <= datetime(2026, 12, 1, 17, 30, tzinfo=UTC):
        if not datetime(2026, 11, 19, tzinfo=UTC) <= day <= datetime(2026, 11, 24, tzinfo=UTC):
            ids.append(f"{day:%Y%m%dT%H%M%SZ}-0001")
        day += timedelta(days=1)
    ids.append("20261201T050000Z-0002")  # 1 Dec 14:00 Tokyo: newer than that day's 02:30
    entries = [_entry(backup_id) for backup_id in ids]
    entries.append(_entry("20261201T180000Z-dead", complete=False))  # newest: in progress
    entries.append(_entry("20261115T000000Z-dead", complete=False))  # old, incomplete

    plan = retention_plan(entries, daily=7, weekly=4, zone=TOKYO)

    assert plan.keep == [
        "20261114T173000Z-0001",  # Sun 15 Nov: the newest of ISO week 46
        "20261118T173000Z-0001",  # Thu 19 Nov: the newest of week 47 (the gap follows)
        "20261125T173000Z-0001",  # 26 Nov … the last seven days that have a backup
        "20261126T173000Z-0001",  # 27 Nov
        "20261127T173000Z-0001",  # 28 Nov
        "20261128T173000Z-0001",  # Sun 29 Nov: also the newest of week 48
        "20261129T173000Z-0001",  # 30 Nov
        "20261201T050000Z-0002",  # 1 Dec 14:00: that day's newest, not its 02:30 one
        "20261201T173000Z-0001",  # Wed 2 Dec: also the newest of week 49
    ]
    assert "20261130T173000Z-0001" in plan.delete
    assert "20261115T000000Z-dead" in plan.delete
    assert "20261201T180000Z-dead" not in plan.delete
    assert sorted(plan.keep + plan.delete) == sorted(
        [e.backup_id for e in entries if e.backup_id != "20261201T180000Z-dead"]
    )


def test_retention_counts_only_days_that_have_a_complete_backup():
    entries = [
        _entry("20260101T000000Z-0001"),
        _entry("20260301T000000Z-0001"),
        _entry("20260302T000000Z-0001", complete=False),
        _entry("20260601T000000Z-0001"),
    ]
    plan = retention_plan(entries, daily=2, weekly=0, zone=TOKYO)
    assert plan.keep == ["20260301T000000Z-0001", "20260601T000000Z-0001"]
    assert plan.delete == ["20260101T000000Z-0001", "20260302T000000Z-0001"]


def test_a_second_backup_on_the_same_day_is_a_generation_of_its_own():
    same_day = [_entry("20261201T173000Z-0001"), _entry("20261202T010000Z-0002")]  # 2 Dec Tokyo
    plan = retention_plan(same_day, daily=1, weekly=0, generations=2, zone=TOKYO)
    assert (plan.keep, plan.delete) == (["20261201T173000Z-0001", "20261202T010000Z-0002"], [])


def test_the_newest_verified_backup_is_never_removed():
    # The newer one was written but its read-back failed: the older stays the one to restore.
    entries = [_entry("20261130T173000Z-0001"), _entry("20261201T173000Z-0001")]
    plan = retention_plan(
        entries,
        daily=1,
        weekly=0,
        generations=1,
        newest_verified="20261130T173000Z-0001",
        zone=TOKYO,
    )
    assert (plan.keep, plan.delete) == (["20261130T173000Z-0001", "20261201T173000Z-0001"], [])


def test_a_manual_backup_keeps_every_earlier_backup_of_its_day():
    day = [_entry(f"20261201T{hour:02d}0000Z-000{hour % 10}") for hour in (0, 1, 2, 3)]
    protect = datetime(2026, 12, 1, tzinfo=TOKYO).date()
    plan = retention_plan(day, daily=1, weekly=0, generations=1, protect_day=protect, zone=TOKYO)
    assert plan.delete == []


def _simulate(backups: list[tuple[str, bool]]) -> list[str]:
    """Run retention after each backup (`manual` or scheduled), as the tasks do."""
    stored: list[BackupEntry] = []
    for backup_id, manual in backups:
        stored.append(_entry(backup_id))
        made = _entry(backup_id).created_at.astimezone(TOKYO).date()
        plan = retention_plan(
            stored,
            daily=5,
            weekly=2,
            generations=3,
            newest_verified=backup_id,
            protect_day=made if manual else None,
            zone=TOKYO,
        )
        stored = [entry for entry in stored if entry.backup_id not in plan.delete]
    return [entry.backup_id for entry in stored]


def test_retention_over_a_month_keeps_exactly_the_generations_days_and_weeks():
    # November 2026 in Tokyo: the daily backup at 02:30 (17:30 UTC the day before), and manual
    # ones at 10:00 and 15:00 Tokyo on 10, 27 and 30 November. 30 November is a Monday.
    made: list[tuple[datetime, bool]] = []
    for day in range(1, 31):
        made.append((datetime(2026, 11, day, 2, 30, tzinfo=TOKYO), False))
        if day in (10, 27, 30):
            made += [(datetime(2026, 11, day, hour, tzinfo=TOKYO), True) for hour in (10, 15)]
    backups = [
        (f"{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}-{n:04x}", manual)
        for n, (moment, manual) in enumerate(made)
    ]

    kept = _simulate(backups)

    assert [backup_id[:16] for backup_id in kept] == [
        "20261125T173000Z",  # 26 Nov 02:30: the fifth of the last five days
        "20261127T060000Z",  # 27 Nov 15:00: that day's newest (its 02:30 and 10:00 went)
        "20261127T173000Z",  # 28 Nov
        "20261128T173000Z",  # 29 Nov: also the newest of ISO week 48
        "20261129T173000Z",  # 30 Nov 02:30: one of the three newest generations ...
        "20261130T010000Z",  # 30 Nov 10:00: ... and made on the day of a manual backup
        "20261130T060000Z",  # 30 Nov 15:00: the newest, verified, newest of week 49
    ]


@pytest.mark.django_db(transaction=True)
def test_manual_backups_on_the_same_day_all_remain(study, backup_settings, capsys):
    backup_settings.OPENCRF_BACKUP_KEEP_GENERATIONS = 1
    backup_settings.OPENCRF_BACKUP_KEEP_DAILY = 1
    backup_settings.OPENCRF_BACKUP_KEEP_WEEKLY = 0

    assert main(["backup"]) == 0  # the command
    assert main(["backup"]) == 0
    assert manual_backup.call()["deleted"] == []  # the control centre's "Back up now"

    made = list(BackupRun.objects.order_by("started_at").values_list("backup_id", flat=True))
    assert len(made) == 3
    root = Path(backup_settings.OPENCRF_BACKUP_DIR)
    assert sorted(path.name for path in root.iterdir()) == made
    assert "removed" not in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_retention_keeps_exactly_the_configured_generations_in_the_folder(backup_settings):
    backup_settings.OPENCRF_BACKUP_KEEP_GENERATIONS = 2
    backup_settings.OPENCRF_BACKUP_KEEP_DAILY = 3
    backup_settings.OPENCRF_BACKUP_KEEP_WEEKLY = 2
    root = Path(backup_settings.OPENCRF_BACKUP_DIR)
    made = [
        "20261115T173000Z-0001",  # Mon 16 Nov Tokyo, week 47
        "20261122T173000Z-0001",  # Mon 23 Nov, week 48
        "20261126T173000Z-0001",  # Fri 27 Nov, week 48
        "20261129T173000Z-0001",  # Mon 30 Nov, week 49
        "20261130T173000Z-0001",  # Tue 1 Dec
        "20261201T173000Z-0001",  # Wed 2 Dec
        "20261201T180000Z-0002",  # Wed 2 Dec, later
    ]
    for backup_id in made:
        (root / backup_id).mkdir(parents=True)
        (root / backup_id / "manifest.json").write_text("{}")
    (root / "20261125T000000Z-beef.partial").mkdir()

    plan = retention_apply()

    kept = sorted(path.name for path in root.iterdir())
    assert kept == [
        "20261126T173000Z-0001",  # newest of week 48
        "20261129T173000Z-0001",  # 30 Nov
        "20261130T173000Z-0001",  # 1 Dec
        "20261201T173000Z-0001",  # 2 Dec: the second newest, a generation of its own
        "20261201T180000Z-0002",  # 2 Dec, and newest of week 49
    ]
    assert plan.keep == kept
    assert plan.delete == [
        "20261115T173000Z-0001",
        "20261122T173000Z-0001",
        "20261125T000000Z-beef",
    ]


# --- Tasks ---


@pytest.mark.django_db(transaction=True)
def test_the_scheduled_backup_prunes_only_after_it_succeeded(study, backup_settings, monkeypatch):
    backup_settings.OPENCRF_BACKUP_KEEP_GENERATIONS = 1
    backup_settings.OPENCRF_BACKUP_KEEP_DAILY = 1
    backup_settings.OPENCRF_BACKUP_KEEP_WEEKLY = 0
    first = manual_backup.call()
    assert first["ok"] is True
    from opencrf.ops.backups import create

    monkeypatch.setattr(create, "write_files_tar", _raise_oserror)
    failed = scheduled_backup.call()
    assert failed == {"ok": False, "error": "OSError: no space left"}
    assert [e.backup_id for e in backup_store().list()] == [first["backup_id"]]

    monkeypatch.undo()
    second = scheduled_backup.call()
    assert second["deleted"] == [first["backup_id"]]
    assert [e.backup_id for e in backup_store().list()] == [second["backup_id"]]


def _raise_oserror(storage, sink):
    raise OSError("no space left")


@pytest.mark.django_db(transaction=True)
def test_a_restore_drill_records_the_recovery_time_and_never_raises(study, backup_settings):
    missing = drill_run()
    assert (missing.status, missing.error) == (
        RunStatus.FAILED,
        "There is no complete backup to verify.",
    )
    run = backup_create(trigger="schedule")

    drill = drill_run()

    assert drill.status == RunStatus.SUCCEEDED
    assert drill.backup_id == run.backup_id
    assert 0 <= drill.backup_age_seconds < 60
    assert drill.duration_seconds == drill.report["duration"] or drill.duration_seconds > 0
    assert drill.report["ok"] is True
    assert drill.report["problems"] == []
    part = Path(backup_settings.OPENCRF_BACKUP_DIR) / run.backup_id / "files.tar"
    part.write_bytes(b"broken")
    broken = drill_run()
    assert broken.status == RunStatus.FAILED
    assert broken.error.startswith("part files.tar: 6 bytes")
    assert list(DrillRun.objects.values_list("status", flat=True)) == [
        RunStatus.FAILED,
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
    ]


# --- S3 ---


@pytest.mark.django_db(transaction=True)
def test_an_s3_backup_round_trips_through_a_real_seaweedfs(study, s3_backup_settings, settings):  # noqa: F811
    settings.OPENCRF_BACKUP_KEY = KEY
    settings.OPENCRF_BACKUP_KEEP_GENERATIONS = 1
    settings.OPENCRF_BACKUP_KEEP_DAILY = 1
    settings.OPENCRF_BACKUP_KEEP_WEEKLY = 0
    big = os.urandom(9 * 1024 * 1024)  # more than one multipart part
    put_files({"projects/3/scan.dcm": big})
    store = backup_store()
    assert store.location == settings.OPENCRF_BACKUP_S3_URL

    first = backup_create(trigger="manual")
    entries = store.list()
    assert [(e.backup_id, e.encrypted, e.complete) for e in entries] == [
        (first.backup_id, True, True)
    ]
    assert entries[0].size_bytes == first.size_bytes > len(big)
    manifest = read_manifest(store, first.backup_id)
    contents = load_contents(store, manifest, backup_key(manifest))
    assert {"name": "projects/3/scan.dcm", "size": len(big), "sha256": sha256(big)} in contents[
        "files"
    ]
    report = restore_verify(first.backup_id)
    assert report.ok is True, report.problems

    # A backup without its manifest is incomplete; retention removes it once a newer is done.
    writer = store.open_writer("20000101T000000Z-0bad", "files.tar")
    writer.write(b"partial")
    writer.close()
    second = backup_create(trigger="manual")
    assert [(e.backup_id, e.complete) for e in store.list()] == [
        ("20000101T000000Z-0bad", False),
        (first.backup_id, True),
        (second.backup_id, True),
    ]
    plan = retention_apply()
    assert plan.delete == sorted(["20000101T000000Z-0bad", first.backup_id])
    assert [e.backup_id for e in store.list()] == [second.backup_id]


# --- Command line ---


@pytest.mark.django_db(transaction=True)
def test_backup_and_list_commands_print_what_they_did(study, backup_settings, capsys):
    assert main(["backup", "--no-prune"]) == 0
    out = capsys.readouterr().out
    run = BackupRun.objects.get()
    assert out.splitlines()[0].startswith(f"Backup {run.backup_id}: ")
    assert ", 3 files, not encrypted, verified, in " in out
    assert (
        out.splitlines()[1]
        == f"  written to {Path(backup_settings.OPENCRF_BACKUP_DIR) / run.backup_id}"
    )

    BackupRun.objects.create(
        backup_id="29991231T000000Z-0000", trigger="manual", status=RunStatus.FAILED
    )
    assert main(["backup", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [run.backup_id, "29991231T000000Z-0000"]
    assert lines[0].split()[-2:] == ["clear", "complete"]
    assert lines[1].split()[-2:] == ["-", "failed"]


@pytest.mark.django_db(transaction=True)
def test_a_failed_backup_command_says_why_in_one_line(backup_settings, capsys, monkeypatch):
    from opencrf.ops.backups import create

    monkeypatch.setattr(create, "write_files_tar", _raise_oserror)
    assert main(["backup"]) == 1
    assert capsys.readouterr().err == "opencrf backup: OSError: no space left\n"


@pytest.mark.django_db(transaction=True)
def test_the_prune_command_removes_what_retention_does_not_keep(backup_settings, capsys):
    backup_settings.OPENCRF_BACKUP_KEEP_GENERATIONS = 1
    backup_settings.OPENCRF_BACKUP_KEEP_DAILY = 1
    backup_settings.OPENCRF_BACKUP_KEEP_WEEKLY = 0
    root = Path(backup_settings.OPENCRF_BACKUP_DIR)
    for backup_id in ("20261130T173000Z-0001", "20261201T173000Z-0001"):
        (root / backup_id).mkdir(parents=True)
        (root / backup_id / "manifest.json").write_text("{}")

    assert main(["backup", "prune"]) == 0

    assert capsys.readouterr().out == (
        "  removed 20261130T173000Z-0001 (beyond the kept generations)\n  1 backup(s) kept\n"
    )
    assert [path.name for path in root.iterdir()] == ["20261201T173000Z-0001"]


@pytest.mark.parametrize(
    "command", [["backup"], ["backup", "list"], ["backup", "prune"], ["restore"]]
)
def test_every_backup_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: opencrf {' '.join(command)}")


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_bucket_fails_the_backup_clearly_and_records_it(study, settings):
    settings.OPENCRF_BACKUP_S3_URL = "s3://opencrf-tests/nowhere"
    settings.OPENCRF_BACKUP_S3_ENDPOINT = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.OPENCRF_BACKUP_S3_ACCESS_KEY = settings.OPENCRF_BACKUP_S3_SECRET_KEY = "x"

    with pytest.raises(BackupFailed, match="EndpointConnectionError"):
        backup_create(trigger="schedule")

    run = BackupRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("EndpointConnectionError: Could not connect to the endpoint URL")


@pytest.mark.django_db(transaction=True)
def test_a_backup_taken_while_another_connection_keeps_writing_is_consistent(study):
    import threading
    import time

    from django.db import connections

    from opencrf.ops.models import WorkerHeartbeat

    stop, written = threading.Event(), []

    def keep_writing() -> None:
        try:
            while not stop.is_set():
                WorkerHeartbeat.objects.create(worker_id=f"writer-{len(written)}")
                written.append(1)
                time.sleep(0.002)
        finally:
            connections.close_all()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 20:
            time.sleep(0.01)
        run = backup_create(trigger="manual")
    finally:
        stop.set()
        writer.join()

    in_backup = run.summary["tables"]["ops_workerheartbeat"]
    assert 20 <= in_backup < len(written)
    report = restore_verify(run.backup_id)
    assert report.ok is True, report.problems


@pytest.mark.django_db(transaction=True)
def test_a_short_backup_key_is_refused_before_anything_is_written(backup_settings):
    backup_settings.OPENCRF_BACKUP_KEY = "too short"
    with pytest.raises(BackupFailed, match="OPENCRF_BACKUP_KEY must be at least 20 characters"):
        backup_create(trigger="manual")
    assert backup_store().list() == []
    assert BackupRun.objects.get().status == RunStatus.FAILED
