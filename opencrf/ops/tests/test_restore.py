"""Restore: a backup restored elsewhere is the same data; unsafe backups and targets are refused."""

from __future__ import annotations

import json
import secrets
import sqlite3
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.db import connection, connections

from opencrf.cli import main
from opencrf.ops.backups.create import backup_create
from opencrf.ops.backups.errors import (
    BackupNotFound,
    CorruptBackup,
    InvalidBackupId,
    RestoreRefused,
)
from opencrf.ops.backups.restore import (
    _connection,
    restore_into,
    restore_verify,
    target_for,
)
from opencrf.ops.tests import test_backup as shared
from opencrf.ops.tests.test_backup import FILES, KEY

backup_settings = shared.backup_settings
study = shared.study

# The backup's own BackupRun row is written RUNNING into the snapshot, then finished.
CHANGES_AFTER_THE_SNAPSHOT = {"ops_backuprun"}


def table_rows(alias: str) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    from django.db import connections

    from opencrf.ops.backups.database import quote, table_names

    rows = {}
    with connections[alias].cursor() as cursor:
        for name in table_names(cursor, connections[alias].vendor):
            cursor.execute(f"SELECT * FROM {quote(name)}")  # noqa: S608
            rows[name] = sorted((tuple(row) for row in cursor.fetchall()), key=repr)
    return rows


@pytest.fixture
def postgres_target():
    """The URL of a new, empty PostgreSQL database on the test server (dropped afterwards)."""
    if connection.vendor != "postgresql":
        yield None
        return
    from opencrf.ops.backups import database

    params = database.pg_params(connection.settings_dict)
    name = f"opencrf_restore_test_{secrets.token_hex(4)}"
    host = params["host"] or "127.0.0.1"
    port = params["port"] or "5432"
    yield f"postgres://{params['user']}@{host}:{port}/{name}"
    database.pg_drop_database(params, name)


def _restore_and_compare(tmp_path, postgres_target, backup_id):
    into = tmp_path / "restored"
    report = restore_into(backup_id, into=into, database_url=postgres_target)
    assert report.problems == []
    assert report.ok is True
    target = target_for(into, postgres_target)
    with _connection(target.settings_dict) as alias:
        restored = table_rows(alias)
    source = table_rows("default")
    assert set(restored) == set(source)
    for name in sorted(set(source) - CHANGES_AFTER_THE_SNAPSHOT):
        assert restored[name] == source[name], name
    storage = FileSystemStorage(location=str(into / "files"))
    for name, data in FILES.items():
        with storage.open(name, "rb") as handle:
            assert handle.read() == data
    return report


@pytest.mark.django_db(transaction=True)
def test_a_backup_restored_into_an_empty_target_is_the_same_data(study, tmp_path, postgres_target):
    backup_id = backup_create(trigger="manual").backup_id

    report = _restore_and_compare(tmp_path, postgres_target, backup_id)

    assert [check.split(":")[0] for check in report.checks] == [
        "parts",
        "row counts",
        "migrations",
        "audit chains",
        "files",
    ]
    assert report.checks[3].startswith("audit chains: 1 verified, ")
    assert (
        report.checks[4] == f"files: 3 files, {sum(map(len, FILES.values()))} bytes, SHA-256 match"
    )


@pytest.mark.django_db(transaction=True)
def test_an_encrypted_backup_restores_to_the_same_data(
    study, backup_settings, tmp_path, postgres_target
):
    backup_settings.OPENCRF_BACKUP_KEY = KEY
    backup_id = backup_create(trigger="manual").backup_id
    _restore_and_compare(tmp_path, postgres_target, backup_id)


@pytest.mark.django_db(transaction=True)
def test_restore_verify_checks_everything_and_leaves_nothing_behind(study, backup_settings):
    backup_id = backup_create(trigger="manual").backup_id
    report = restore_verify(backup_id)
    assert report.ok is True
    assert report.duration > 0
    assert len(report.checks) == 5
    assert list(Path(backup_settings.OPENCRF_SCRATCH_DIR).iterdir()) == []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM pg_database WHERE datname LIKE 'opencrf_verify_%'")
            assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_verify_finds_a_broken_audit_chain_in_the_backup(study, backup_settings):
    backup_id = backup_create(trigger="manual").backup_id
    folder = Path(backup_settings.OPENCRF_BACKUP_DIR) / backup_id
    manifest = json.loads((folder / "manifest.json").read_text())
    head = manifest["contents"]["audit_heads"][str(study.pk)]
    head["hash"] = "0" * 64
    _rewrite_manifest(folder, manifest)

    report = restore_verify(backup_id)

    assert report.ok is False
    assert report.problems == [f"audit chain {study.pk}: its head differs from the manifest"]


def _rewrite_manifest(folder: Path, manifest: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest))


# --- Hostile backups ---


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "hostile", ["../outside.txt", "/etc/passwd", "projects/../../x", "a\\..\\b", "C:/x", ""]
)
def test_a_manifest_with_a_path_leaving_the_target_is_refused(
    study, backup_settings, tmp_path, hostile
):
    backup_id = backup_create(trigger="manual").backup_id
    folder = Path(backup_settings.OPENCRF_BACKUP_DIR) / backup_id
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["contents"]["files"].append({"name": hostile, "size": 1, "sha256": "0" * 64})
    _rewrite_manifest(folder, manifest)
    into = tmp_path / "restored"

    with pytest.raises(CorruptBackup, match="unsafe file name in the backup"):
        restore_into(backup_id, into=into)

    assert not into.exists()
    assert not (tmp_path / "outside.txt").exists()
    assert restore_verify(backup_id).problems == [f"unsafe file name in the backup: {hostile!r}"]


@pytest.mark.django_db(transaction=True)
def test_a_tar_member_the_manifest_does_not_list_is_refused(
    study, backup_settings, tmp_path, postgres_target
):
    backup_id = backup_create(trigger="manual").backup_id
    folder = Path(backup_settings.OPENCRF_BACKUP_DIR) / backup_id
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["contents"]["files"] = manifest["contents"]["files"][:1]
    _rewrite_manifest(folder, manifest)

    with pytest.raises(CorruptBackup, match="the manifest does not list"):
        restore_into(backup_id, into=tmp_path / "restored", database_url=postgres_target)


@pytest.mark.django_db(transaction=True)
def test_backup_ids_with_path_characters_are_refused_on_restore(backup_settings, tmp_path, capsys):
    for hostile in ("../backups", "20261202T025900Z-3fa2/../../etc", "/tmp"):
        with pytest.raises(InvalidBackupId):
            restore_into(hostile, into=tmp_path / "restored")
        assert main(["restore", hostile, "--verify"]) == 1
    assert not (tmp_path / "restored").exists()
    assert "is not a backup id" in capsys.readouterr().err
    with pytest.raises(BackupNotFound):
        restore_into("20261202T025900Z-3fa2", into=tmp_path / "restored")


# --- Unsafe targets ---


@pytest.mark.django_db(transaction=True)
def test_a_non_empty_target_is_refused_and_left_unchanged(
    study, backup_settings, tmp_path, postgres_target
):
    backup_id = backup_create(trigger="manual").backup_id
    into = tmp_path / "restored"
    into.mkdir()
    (into / "notes.txt").write_text("keep me")

    with pytest.raises(RestoreRefused, match="is not empty; restore into an empty folder"):
        restore_into(backup_id, into=into, database_url=postgres_target)

    assert [path.name for path in into.iterdir()] == ["notes.txt"]
    assert (into / "notes.txt").read_text() == "keep me"


@pytest.mark.django_db(transaction=True)
def test_a_non_empty_target_database_is_refused(study, tmp_path, postgres_target):
    backup_id = backup_create(trigger="manual").backup_id
    if postgres_target is None:
        other = tmp_path / "other.sqlite3"
        sqlite3.connect(other).execute("CREATE TABLE kept (x)").connection.commit()
        postgres_target = f"sqlite:///{other}"
    else:
        restore_into(backup_id, into=tmp_path / "first", database_url=postgres_target)

    with pytest.raises(RestoreRefused, match="is not empty; restore into an empty one"):
        restore_into(backup_id, into=tmp_path / "second", database_url=postgres_target)

    assert not (tmp_path / "second").exists()


@pytest.mark.django_db(transaction=True)
def test_the_live_database_is_refused_without_replace(study, backup_settings, tmp_path, capsys):
    backup_id = backup_create(trigger="manual").backup_id
    live = connection.settings_dict
    into = tmp_path / "live"
    if connection.vendor == "sqlite":
        url = f"sqlite:///{live['NAME']}"
    else:
        url = f"postgres://{live['USER']}@{live['HOST']}:{live['PORT']}/{live['NAME']}"

    with pytest.raises(RestoreRefused, match="the target is the live database"):
        restore_into(backup_id, into=into, database_url=url)
    assert main(["restore", backup_id, "--into", str(into), "--database-url", url]) == 1
    assert "add --replace" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_a_backup_of_another_vendor_is_refused(study, backup_settings, tmp_path):
    backup_id = backup_create(trigger="manual").backup_id
    other = (
        "postgres://postgres@127.0.0.1:5432/opencrf_nowhere"
        if connection.vendor == "sqlite"
        else None
    )
    with pytest.raises(RestoreRefused, match="cannot be restored into"):
        restore_into(backup_id, into=tmp_path / "restored", database_url=other)
    assert not (tmp_path / "restored").exists()


@pytest.mark.django_db(transaction=True)
def test_replace_puts_a_backup_back_over_a_target(study, tmp_path, postgres_target):
    backup_id = backup_create(trigger="manual").backup_id
    into = tmp_path / "restored"
    restore_into(backup_id, into=into, database_url=postgres_target)
    (into / "files" / "projects" / "1" / "a.txt").write_bytes(b"damaged")
    target = target_for(into, postgres_target)
    with _connection(target.settings_dict) as alias, connections[alias].cursor() as cursor:
        cursor.execute("DELETE FROM records_formdata")
        cursor.execute("CREATE TABLE added_by_a_failed_upgrade (x integer)")

    report = restore_into(backup_id, into=into, database_url=postgres_target, replace=True)

    assert report.problems == []
    assert (into / "files" / "projects" / "1" / "a.txt").read_bytes() == FILES["projects/1/a.txt"]


@pytest.mark.django_db(transaction=True)
def test_restore_commands_print_the_report(study, backup_settings, tmp_path, capsys):
    backup_id = backup_create(trigger="manual").backup_id
    assert main(["restore", backup_id, "--verify"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"Verification of backup {backup_id}: ")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "ok   parts",
        "ok   row counts",
        "ok   migrations",
        "ok   audit chains",
        "ok   files",
    ]
    assert main(["restore", backup_id]) == 1
    assert capsys.readouterr().err == "opencrf restore: give either --into DIR or --verify\n"
