"""`backup_create`: one consistent backup of the database and every uploaded file.

Steps: mark runs whose process died as interrupted (and remove their partial data), record a
RUNNING BackupRun, copy the database from one snapshot, stream every file into a tar, write
the manifest last, read every part back and compare checksums; only then is the backup
verified. Any failure removes what was written and records the error; an older backup is
never touched here (retention is a separate step, run only after a verified backup).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

import opencrf
from opencrf.ops.backups import database
from opencrf.ops.backups.audit_anchor import (
    CHECKPOINT,
    anchor_after_backup,
    backup_checkpoint_document,
)
from opencrf.ops.backups.errors import BackupError, BackupFailed
from opencrf.ops.backups.files import write_files_tar
from opencrf.ops.backups.manifest import (
    CONTENTS,
    FORMAT,
    PartsWriter,
    check_parts,
    encryption_block,
)
from opencrf.ops.backups.store import BACKUP_ID, BackupStore, backup_store, backup_time
from opencrf.ops.models import BackupRun, RunStatus

# A RUNNING backup older than this is taken as dead even if its process cannot be checked.
STALE_AFTER = timedelta(hours=12)
FILES_PART = "files.tar"


def new_backup_id(now: datetime | None = None) -> str:
    """A sortable id such as 20261202T025900Z-3fa2 (UTC, plus four random hex digits)."""
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def _next_backup_id() -> str:
    """A new id later than every recorded one, so that ids keep the order backups ran in."""
    now = datetime.now(UTC).replace(microsecond=0)
    latest = BackupRun.objects.order_by("-backup_id").values_list("backup_id", flat=True).first()
    if latest and BACKUP_ID.match(latest) and now <= backup_time(latest):
        now = backup_time(latest) + timedelta(seconds=1)
    return new_backup_id(now)


def node_name() -> str:
    return socket.gethostname()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_dead(run: BackupRun, now: datetime) -> bool:
    if now - run.started_at > STALE_AFTER:
        return True
    return run.node == node_name() and run.pid is not None and not _process_alive(run.pid)


def runs_mark_interrupted(store: BackupStore | None = None) -> list[BackupRun]:
    """Mark RUNNING backups whose process is gone as INTERRUPTED; remove their partial data."""
    now = timezone.now()
    found = [
        run for run in BackupRun.objects.filter(status=RunStatus.RUNNING) if _is_dead(run, now)
    ]
    if not found:
        return []
    store = store or backup_store()
    complete = {entry.backup_id for entry in store.list() if entry.complete}
    for run in found:
        if run.backup_id not in complete:
            store.delete(run.backup_id)
        run.status = RunStatus.INTERRUPTED
        run.finished_at = now
        run.error = "The backup process stopped before it finished (killed or crashed)."
        run.save(update_fields=["status", "finished_at", "error"])
    return found


def backup_create(*, trigger: str, store: BackupStore | None = None) -> BackupRun:
    """Make, write and read back one backup; raise BackupFailed (recorded) if any step fails."""
    store = store or backup_store()
    backup_id = _next_backup_id()
    run = BackupRun.objects.create(
        backup_id=backup_id,
        trigger=trigger,
        node=node_name(),
        pid=os.getpid(),
        location=store.where(backup_id),
        database_vendor=connections[DEFAULT_DB_ALIAS].vendor,
        encrypted=bool(settings.OPENCRF_BACKUP_KEY),
    )
    try:
        runs_mark_interrupted(store)
        _refuse_if_another_runs(run)
        manifest = write_backup(store, backup_id)
        problems = check_parts(store, manifest)
        if problems:
            raise BackupFailed("read back from the store, " + "; ".join(problems))
    except Exception as error:
        message = _message(error)
        with contextlib.suppress(Exception):  # the store may be what failed
            store.delete(backup_id)  # only this attempt's own, partial data
        _finish(run, RunStatus.FAILED, error=message)
        raise BackupFailed(message) from error
    run.size_bytes = manifest["size_bytes"]
    run.file_count = manifest["summary"]["files"]
    run.summary = manifest["summary"]
    run.verified_at = timezone.now()
    _finish(run, RunStatus.SUCCEEDED)
    anchor_after_backup(manifest)
    return run


def _message(error: Exception) -> str:
    if isinstance(error, BackupError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _finish(run: BackupRun, status: str, *, error: str = "") -> None:
    run.status, run.error, run.finished_at = status, error, timezone.now()
    run.save()


def _refuse_if_another_runs(run: BackupRun) -> None:
    others = BackupRun.objects.filter(status=RunStatus.RUNNING).exclude(pk=run.pk)
    for other in others:
        raise BackupFailed(
            f"another backup ({other.backup_id}, on {other.node}, pid {other.pid}) is running"
        )


def write_backup(store: BackupStore, backup_id: str) -> dict[str, Any]:
    """Write every part and then the manifest; return it, with `summary` and `size_bytes`."""
    key, encryption = encryption_block(backup_id)
    writer = PartsWriter(store, backup_id, key)
    vendor = connections[DEFAULT_DB_ALIAS].vendor
    created_at = datetime.now(UTC)
    contents = _write_database(writer, vendor)
    # Signed, so that the backup proves what the audit trail held (audit/anchors.py).
    contents[CHECKPOINT] = backup_checkpoint_document(
        backup_id, created_at, contents["audit_heads"]
    )
    with writer.part(FILES_PART) as stream:
        contents["files"] = write_files_tar(default_storage, stream)
    if key is not None:
        with writer.part(CONTENTS) as stream:
            stream.write(json.dumps(contents).encode())
    manifest = {
        "format": FORMAT,
        "backup_id": backup_id,
        "created_at": created_at.isoformat(),
        "opencrf_version": opencrf.__version__,
        "database_vendor": vendor,
        "encrypted": key is not None,
        "encryption": encryption,
        "parts": writer.parts,
        "contents": None if key is not None else contents,
    }
    written = json.dumps(manifest, indent=1, sort_keys=True).encode()
    store.commit(backup_id, written)
    manifest["summary"] = summary_of(contents)
    manifest["size_bytes"] = len(written) + sum(part["size"] for part in writer.parts.values())
    return manifest


def summary_of(contents: dict[str, Any]) -> dict[str, Any]:
    """What BackupRun keeps of the contents: counts and heads, not the file list."""
    return {
        "tables": contents["tables"],
        "audit_heads": contents["audit_heads"],
        "migrations": len(contents["migrations"]),
        "files": len(contents["files"]),
        "file_bytes": sum(item["size"] for item in contents["files"]),
    }


def _write_database(writer: PartsWriter, vendor: str) -> dict[str, Any]:
    settings_dict = connections[DEFAULT_DB_ALIAS].settings_dict
    if vendor == "sqlite":
        return _write_sqlite(writer, Path(settings_dict["NAME"]))
    if vendor == "postgresql":
        params = database.pg_params(settings_dict)
        with database.pg_snapshot(params) as (snapshot, cursor):
            contents = database.summarize(cursor, vendor)
            with writer.part("database.pgdump") as stream:
                database.pg_dump(params, snapshot, stream)
        return contents
    raise BackupFailed(f"backups of a {vendor} database are not supported")


def _write_sqlite(writer: PartsWriter, source: Path) -> dict[str, Any]:
    scratch = Path(settings.OPENCRF_SCRATCH_DIR)
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="backup-") as folder:
        copy = Path(folder) / "opencrf.sqlite3"
        database.sqlite_copy(source, copy)
        contents = database.sqlite_summary(copy)
        with writer.part("database.sqlite3") as stream, copy.open("rb") as handle:
            database.copy_stream(handle, stream)
    return contents
