"""Restore a backup into another place, or into scratch space to verify it.

Everything that can refuse a restore is checked before anything is written: the id, the
manifest, the key, every part's checksum in the store, the file list (no `..`, no absolute
path), the vendor, and that the target is empty or not the live installation (unless
`replace`). Then the database and files are restored and verified against the manifest: row
counts of every table, applied migrations, every audit chain recomputed on the restored
database, and every file's SHA-256.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.db.utils import load_backend

from opencrf.audit.anchors import checkpoint_make, checkpoint_write
from opencrf.audit.verify import verify_all
from opencrf.ops.backups import database
from opencrf.ops.backups.create import FILES_PART
from opencrf.ops.backups.errors import BackupError, CorruptBackup, RestoreRefused
from opencrf.ops.backups.files import check_file_list, file_sha256, restore_files_tar
from opencrf.ops.backups.manifest import (
    backup_key,
    check_parts,
    load_contents,
    open_plain,
    read_manifest,
)
from opencrf.ops.backups.store import BackupStore, backup_store, validate_backup_id

DATABASE_PARTS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
SQLITE_NAME = "opencrf.sqlite3"
FILES_FOLDER = "files"


@dataclass
class VerifyReport:
    """What a restore found: `ok` when `problems` is empty; `duration` in seconds."""

    backup_id: str
    ok: bool = False
    duration: float = 0.0
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "backup_id": self.backup_id,
            "ok": self.ok,
            "duration": round(self.duration, 3),
            "checks": self.checks,
            "problems": self.problems,
        }


@dataclass
class Target:
    """Where a restore writes: a database (SQLite file or PostgreSQL) and a file storage."""

    vendor: str
    settings_dict: dict[str, Any]
    storage: Storage
    live: bool = False
    cleanup: list[Path] = field(default_factory=list)

    @property
    def sqlite_path(self) -> Path:
        return Path(self.settings_dict["NAME"])


@dataclass
class Opened:
    """A backup read and checked, ready to restore."""

    store: BackupStore
    manifest: dict[str, Any]
    key: bytes | None
    contents: dict[str, Any]
    files: dict[str, dict[str, Any]]

    @property
    def vendor(self) -> str:
        return str(self.manifest.get("database_vendor"))


def open_backup(backup_id: str, store: BackupStore | None = None) -> tuple[Opened, list[str]]:
    """Read and check a backup before restoring it; returns it and the checks passed."""
    validate_backup_id(backup_id)
    store = store or backup_store()
    manifest = read_manifest(store, backup_id)
    key = backup_key(manifest)
    problems = check_parts(store, manifest)
    if problems:
        raise CorruptBackup("; ".join(problems))
    checks = [f"parts: {len(manifest['parts'])} parts match their SHA-256 in the store"]
    contents = load_contents(store, manifest, key)
    files = check_file_list(contents["files"])
    vendor = manifest.get("database_vendor")
    if vendor not in DATABASE_PARTS or DATABASE_PARTS[str(vendor)] not in manifest["parts"]:
        raise CorruptBackup(f"backup {backup_id} has no database part for {vendor!r}")
    return Opened(store, manifest, key, contents, files), checks


# --- Targets ---


def _sqlite_settings(path: Path) -> dict[str, Any]:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}


def _configured(partial: dict[str, Any]) -> dict[str, Any]:
    """A full Django database settings dict, with every default filled in."""
    alias = "opencrf_restore"
    filled = connections.configure_settings({DEFAULT_DB_ALIAS: dict(partial), alias: partial})
    return dict(filled[alias])


def _vendor_of(settings_dict: dict[str, Any]) -> str:
    engine = str(settings_dict.get("ENGINE", ""))
    if engine.endswith("sqlite3"):
        return "sqlite"
    if "postgresql" in engine:
        return "postgresql"
    raise RestoreRefused(f"restores into {engine or 'this database'} are not supported")


def _same_database(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if _vendor_of(a) != _vendor_of(b):
        return False
    if _vendor_of(a) == "sqlite":
        return Path(a["NAME"]).resolve() == Path(b["NAME"]).resolve()
    keys = ("HOST", "PORT", "NAME")
    return [str(a.get(k) or "") for k in keys] == [str(b.get(k) or "") for k in keys]


def target_for(into: Path, database_url: str | None) -> Target:
    """The target of `opencrf restore --into DIR [--database-url URL]`."""
    into = into.expanduser().resolve()
    if database_url:
        settings_dict = _configured(dict(dj_database_url.parse(database_url)))
    else:
        settings_dict = _configured(_sqlite_settings(into / SQLITE_NAME))
    live_db = connections[DEFAULT_DB_ALIAS].settings_dict
    live = _same_database(settings_dict, live_db)
    storage: Storage = FileSystemStorage(location=str(into / FILES_FOLDER))
    if live:
        storage = default_storage
    return Target(_vendor_of(settings_dict), settings_dict, storage, live=live)


def _refuse_unsafe_target(target: Target, into: Path, opened: Opened, replace: bool) -> None:
    if opened.vendor != target.vendor:
        raise RestoreRefused(
            f"backup {opened.manifest['backup_id']} is of a {opened.vendor} database and "
            f"cannot be restored into {target.vendor}"
        )
    if replace:
        return
    if target.live:
        raise RestoreRefused(
            "the target is the live database; stop the service and add --replace to put "
            "this backup back in its place"
        )
    if into.exists() and any(into.iterdir()):
        raise RestoreRefused(f"{into} is not empty; restore into an empty folder")
    if target.vendor == "sqlite":
        path = target.sqlite_path
        if path.exists() and path.stat().st_size > 0:
            raise RestoreRefused(f"the database {path} is not empty; restore into an empty one")
    else:
        params = database.pg_params(target.settings_dict)
        name = params["dbname"]
        if database.pg_database_exists(params, name) and database.pg_table_count(params):
            raise RestoreRefused(f"the database {name} is not empty; restore into an empty one")


# --- Restoring ---


def _restore_database(opened: Opened, target: Target, *, replace: bool) -> None:
    part = DATABASE_PARTS[target.vendor]
    with open_plain(opened.store, opened.manifest, opened.key, part) as stream:
        if target.vendor == "sqlite":
            _restore_sqlite(stream, target.sqlite_path)
        else:
            params = database.pg_params(target.settings_dict)
            if not database.pg_database_exists(params, params["dbname"]):
                database.pg_create_database(params, params["dbname"])
            elif replace:
                database.pg_empty_schema(params)
            database.pg_restore(params, stream)


def _restore_sqlite(stream: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    incoming = path.with_name(path.name + ".restoring")
    with incoming.open("wb") as handle:
        database.copy_stream(stream, handle)
        handle.flush()
        os.fsync(handle.fileno())
    for suffix in ("-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    os.replace(incoming, path)


def _restore(opened: Opened, target: Target, *, replace: bool) -> dict[str, str]:
    """Restore the database, then the files; returns {file name: SHA-256 written}."""
    if target.live:
        for connection in connections.all(initialized_only=True):
            connection.close()
    _restore_database(opened, target, replace=replace)
    with open_plain(opened.store, opened.manifest, opened.key, FILES_PART) as stream:
        return restore_files_tar(stream, target.storage, opened.files, replace=replace)


# --- Verifying what was restored ---


@contextlib.contextmanager
def _connection(settings_dict: dict[str, Any]) -> Iterator[str]:
    """A Django database alias for the restored database, for this thread, removed afterwards.

    The alias is not added to the settings: it exists only while the restore verifies.
    """
    alias = f"opencrf_restored_{secrets.token_hex(4)}"
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    connections[alias] = wrapper
    try:
        yield alias
    finally:
        wrapper.close()
        del connections[alias]


def verify_restored(opened: Opened, target: Target, written: dict[str, str]) -> VerifyReport:
    report = VerifyReport(opened.manifest["backup_id"])
    with _connection(target.settings_dict) as alias:
        with connections[alias].cursor() as cursor:
            restored = database.summarize(cursor, target.vendor)
        _check_tables(report, opened.contents["tables"], restored["tables"])
        _check_migrations(report, opened.contents["migrations"], restored["migrations"])
        _check_audit(report, opened.contents["audit_heads"], alias)
    _check_files(report, opened.files, written, target.storage)
    return report


def _check_tables(report: VerifyReport, expected: dict[str, int], found: dict[str, int]) -> None:
    wrong = [
        f"table {name}: {found.get(name, 'missing')} rows, the manifest says {count}"
        for name, count in sorted(expected.items())
        if found.get(name) != count
    ]
    wrong += [f"table {name} is not in the manifest" for name in sorted(set(found) - set(expected))]
    report.problems += wrong
    if not wrong:
        rows = sum(expected.values())
        report.checks.append(f"row counts: {len(expected)} tables, {rows} rows, as in the manifest")


def _check_migrations(report: VerifyReport, expected: list[Any], found: list[Any]) -> None:
    if [list(item) for item in expected] != [list(item) for item in found]:
        report.problems.append("applied migrations differ from the manifest")
        return
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    newer = len(known - {tuple(item) for item in found})
    note = f"; {newer} newer in this version (applied by `opencrf init`)" if newer else ""
    report.checks.append(f"migrations: {len(found)} applied, as in the manifest{note}")


def _check_audit(report: VerifyReport, heads: dict[str, dict[str, Any]], alias: str) -> None:
    chains = {str(chain.project_id): chain for chain in verify_all(using=alias)}
    problems = []
    for project, chain in sorted(chains.items()):
        head = heads.get(project)
        if not chain.ok:
            problems.append(f"audit chain {project}: {chain.reason}")
        elif head is None:
            problems.append(f"audit chain {project} is not in the manifest")
        elif (chain.entries_checked, chain.head_hash) != (head["count"], head["hash"]):
            problems.append(f"audit chain {project}: its head differs from the manifest")
    problems += [
        f"audit chain {project} is missing" for project in sorted(set(heads) - set(chains))
    ]
    report.problems += problems
    if not problems:
        entries = sum(chain.entries_checked for chain in chains.values())
        report.checks.append(f"audit chains: {len(chains)} verified, {entries} entries")


def _check_files(
    report: VerifyReport,
    listed: dict[str, dict[str, Any]],
    written: dict[str, str],
    storage: Storage,
) -> None:
    problems = []
    for name, item in sorted(listed.items()):
        if name not in written:
            problems.append(f"file {name} is listed but missing from the backup")
        elif written[name] != item.get("sha256") or storage.size(name) != item.get("size"):
            problems.append(f"file {name}: its SHA-256 or size differs from the manifest")
        elif file_sha256(storage, name) != item.get("sha256"):  # read back as restored
            problems.append(f"file {name}: the restored copy differs from the backup")
    report.problems += problems
    if not problems:
        size = sum(int(item["size"]) for item in listed.values())
        report.checks.append(f"files: {len(listed)} files, {size} bytes, SHA-256 match")


# --- The two public entry points ---


def restore_into(
    backup_id: str,
    *,
    into: Path,
    database_url: str | None = None,
    replace: bool = False,
    store: BackupStore | None = None,
) -> VerifyReport:
    """Restore a backup into the folder `into` (and the database `database_url`), verified."""
    started = time.monotonic()
    opened, checks = open_backup(backup_id, store)
    target = target_for(into, database_url)
    _refuse_unsafe_target(target, into.expanduser().resolve(), opened, replace)
    written = _restore(opened, target, replace=replace)
    report = verify_restored(opened, target, written)
    report.checks[:0] = checks
    report.ok = not report.problems
    report.duration = time.monotonic() - started
    if target.live and report.ok:
        _anchor_restart(backup_id)
    return report


def _anchor_restart(backup_id: str) -> None:
    """The live trail is the backup's now: later checkpoints compare with it alone."""
    checkpoint = checkpoint_make(reason=f"restore of backup {backup_id}", restart=True)
    checkpoint_write(checkpoint)


def restore_verify(backup_id: str, *, store: BackupStore | None = None) -> VerifyReport:
    """Restore into scratch space, verify everything, remove the scratch; touches nothing live.

    Problems found in the backup are reported (`ok` False), not raised; a backup that cannot
    be opened at all (missing, wrong key) is reported the same way. Only an id that is not a
    backup id at all raises InvalidBackupId.
    """
    validate_backup_id(backup_id)
    started = time.monotonic()
    report = VerifyReport(backup_id)
    try:
        opened, checks = open_backup(backup_id, store)
        with _scratch_target(opened.vendor, backup_id) as target:
            written = _restore(opened, target, replace=False)
            report = verify_restored(opened, target, written)
        report.checks[:0] = checks
    except BackupError as error:
        report.problems.append(str(error))
    report.ok = not report.problems
    report.duration = time.monotonic() - started
    return report


@contextlib.contextmanager
def _scratch_target(vendor: str, backup_id: str) -> Iterator[Target]:
    scratch = Path(settings.OPENCRF_SCRATCH_DIR)
    scratch.mkdir(parents=True, exist_ok=True)
    folder = scratch / f"verify-{backup_id}-{secrets.token_hex(4)}"
    folder.mkdir()
    storage = FileSystemStorage(location=str(folder / FILES_FOLDER))
    try:
        if vendor == "sqlite":
            yield Target(vendor, _configured(_sqlite_settings(folder / SQLITE_NAME)), storage)
        else:
            yield from _scratch_postgres(storage)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _scratch_postgres(storage: Storage) -> Iterator[Target]:
    live = connections[DEFAULT_DB_ALIAS].settings_dict
    if _vendor_of(live) != "postgresql":
        raise RestoreRefused(
            "a PostgreSQL backup is verified on a PostgreSQL server: set DATABASE_URL"
        )
    name = f"opencrf_verify_{secrets.token_hex(6)}"
    settings_dict = _configured({**live, "NAME": name, "TEST": {}})
    params = database.pg_params(settings_dict)
    database.pg_create_database(params, name)
    try:
        yield Target("postgresql", settings_dict, storage)
    finally:
        database.pg_drop_database(params, name)
