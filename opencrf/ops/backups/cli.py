"""`opencrf backup`, `opencrf backup list`, `opencrf backup prune`, `opencrf restore`.

Nothing from Django is imported at module level: each handler loads Django first.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from opencrf.core.commandline import CommandError, setup_django

BACKUP_HELP = """Make a backup now: a consistent copy of the database and every uploaded file,
with a manifest (row counts, audit-chain heads, file checksums), written to the backup folder
(OPENCRF_BACKUP_DIR) or bucket (OPENCRF_BACKUP_S3_URL), encrypted when OPENCRF_BACKUP_KEY is
set, then read back and checked. Older backups beyond the configured generations
(OPENCRF_BACKUP_KEEP_DAILY, OPENCRF_BACKUP_KEEP_WEEKLY) are then removed unless --no-prune."""

RESTORE_HELP = """Restore a backup. With --into DIR: the database into DIR/opencrf.sqlite3 (or
the database of --database-url) and the files into DIR/files; the target must be empty, and
the live installation is refused unless --replace (stop the service first: this is the way
back after a failed upgrade). With --verify: restore into scratch space, check row counts,
migrations, every audit chain and every file checksum against the manifest, remove the
scratch again; nothing live is touched. Exits 1 on any problem."""


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def _error(error: Exception) -> CommandError:
    return CommandError(str(error))


def cmd_backup(args: argparse.Namespace) -> None:
    setup_django()
    from opencrf.ops.backups.create import backup_create
    from opencrf.ops.backups.errors import BackupError
    from opencrf.ops.backups.retention import manual_protect_day, retention_apply
    from opencrf.ops.models import BackupTrigger

    started = time.monotonic()
    try:
        run = backup_create(trigger=BackupTrigger.MANUAL)
    except BackupError as error:
        raise _error(error) from None
    took = time.monotonic() - started
    encrypted = "encrypted" if run.encrypted else "not encrypted"
    print(
        f"Backup {run.backup_id}: {human_size(run.size_bytes)}, {run.file_count} files, "
        f"{encrypted}, verified, in {took:.1f} s"
    )
    print(f"  written to {run.location}")
    if not args.no_prune:  # never removes an earlier backup of the same day
        _print_prune(retention_apply(protect_day=manual_protect_day(run.backup_id)))


def _print_prune(plan: Any) -> None:
    for backup_id in plan.delete:
        print(f"  removed {backup_id} (beyond the kept generations)")
    print(f"  {len(plan.keep)} backup(s) kept")


def cmd_backup_prune(args: argparse.Namespace) -> None:
    setup_django()
    from opencrf.ops.backups.retention import retention_apply

    _print_prune(retention_apply())


def cmd_backup_list(args: argparse.Namespace) -> None:
    setup_django()
    from opencrf.ops.backups.create import runs_mark_interrupted

    for backup_id in (run.backup_id for run in runs_mark_interrupted()):
        print(f"(marked {backup_id} as interrupted; its partial data was removed)")
    lines = backup_lines()
    for line in lines:
        print(line)
    if not lines:
        print("No backups yet.")


def backup_lines() -> list[str]:
    """One line per backup, oldest first, its id first; failed attempts in their place."""
    from opencrf.ops.backups.store import backup_store, backup_time
    from opencrf.ops.models import BackupRun, RunStatus

    entries = {entry.backup_id: entry for entry in backup_store().list()}
    rows: dict[str, str] = {}
    for entry in entries.values():
        state = "complete" if entry.complete else "incomplete"
        crypt = "encrypted" if entry.encrypted else ("clear" if entry.complete else "-")
        rows[entry.backup_id] = _line(
            entry.backup_id, entry.created_at, entry.size_bytes, crypt, state
        )
    oldest = min(entries, default=None)
    attempts = BackupRun.objects.exclude(status=RunStatus.SUCCEEDED)
    for run in attempts:
        if run.backup_id in rows or (oldest is not None and run.backup_id < oldest):
            continue
        rows[run.backup_id] = _line(run.backup_id, backup_time(run.backup_id), 0, "-", run.status)
    return [rows[backup_id] for backup_id in sorted(rows)]


def _line(backup_id: str, created_at: Any, size: int, crypt: str, state: str) -> str:
    from django.utils import timezone

    when = timezone.localtime(created_at).strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"{backup_id}  {when}  {human_size(size):>10}  {crypt:<9}  {state}"


def cmd_restore(args: argparse.Namespace) -> None:
    setup_django()
    from opencrf.ops.backups.errors import BackupError
    from opencrf.ops.backups.restore import restore_into, restore_verify

    if args.verify == bool(args.into):
        raise CommandError("give either --into DIR or --verify")
    if args.verify and (args.database_url or args.replace):
        raise CommandError("--verify restores into scratch space; it takes no other target")
    try:
        if args.verify:
            report = restore_verify(args.backup)
        else:
            into = Path(args.into)
            report = restore_into(
                args.backup, into=into, database_url=args.database_url, replace=args.replace
            )
    except BackupError as error:
        raise _error(error) from None
    what = "Verification of" if args.verify else f"Restore into {args.into} of"
    print(f"{what} backup {args.backup}: {report.duration:.1f} s")
    for check in report.checks:
        print(f"ok   {check}")
    for problem in report.problems:
        print(f"FAIL {problem}")
    if not report.ok:
        raise CommandError(f"{len(report.problems)} problem(s) found in backup {args.backup}")


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the backup and restore commands (imports nothing from Django at module level)."""
    backup = commands.add_parser(
        "backup", help="make a backup now; list or prune backups", description=BACKUP_HELP
    )
    backup.add_argument("--no-prune", action="store_true", help="keep every older backup this time")
    backup.set_defaults(handler=cmd_backup)
    tasks = backup.add_subparsers(dest="backup_command", metavar="TASK")
    listing = tasks.add_parser(
        "list",
        help="one backup per line, oldest first",
        description="Print one backup per line, oldest first: id, time, size, encryption, "
        "and complete, incomplete, interrupted or failed.",
    )
    listing.set_defaults(handler=cmd_backup_list)
    prune = tasks.add_parser(
        "prune",
        help="remove backups beyond the kept generations",
        description="Keep the newest backup of each of the last OPENCRF_BACKUP_KEEP_DAILY days "
        "and OPENCRF_BACKUP_KEEP_WEEKLY weeks; remove the others and stale incomplete ones.",
    )
    prune.set_defaults(handler=cmd_backup_prune)

    restore = commands.add_parser(
        "restore", help="restore or verify a backup", description=RESTORE_HELP
    )
    restore.add_argument("backup", metavar="BACKUP", help="the backup id (see `backup list`)")
    restore.add_argument("--into", metavar="DIR", help="restore into this (empty) data folder")
    restore.add_argument(
        "--database-url",
        metavar="URL",
        help="restore the database here instead of DIR/opencrf.sqlite3",
    )
    restore.add_argument(
        "--replace",
        action="store_true",
        help="overwrite a non-empty target or the live installation (service stopped)",
    )
    restore.add_argument(
        "--verify",
        action="store_true",
        help="restore into scratch space and verify; touches nothing live",
    )
    restore.set_defaults(handler=cmd_restore)
