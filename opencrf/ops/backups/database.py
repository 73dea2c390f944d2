"""The database side of backups: consistent copies, dumps, restores, and the summary.

The summary (row counts of every table, applied migrations, audit-chain heads) is always read
from the very snapshot that is backed up: the SQLite copy itself, or the PostgreSQL snapshot
that `pg_dump --snapshot` exports. So the manifest matches the backup exactly even while users
keep saving.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO

from opencrf.audit.models import AuditEvent
from opencrf.ops.backups.errors import BackupError

COPY_CHUNK = 1024 * 1024
DUMP_TIMEOUT_SECONDS = 24 * 3600


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- Summary ---


def table_names(cursor: Any, vendor: str) -> list[str]:
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    else:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
    return [row[0] for row in cursor.fetchall()]


def summarize(cursor: Any, vendor: str) -> dict[str, Any]:
    """Row counts of every table, applied migrations and each audit chain's head."""
    tables = {}
    for name in table_names(cursor, vendor):
        cursor.execute(f"SELECT COUNT(*) FROM {quote(name)}")  # noqa: S608 (quoted identifier)
        tables[name] = int(cursor.fetchone()[0])
    migrations: list[list[str]] = []
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        migrations = [[app, name] for app, name in cursor.fetchall()]
    return {"tables": tables, "migrations": migrations, "audit_heads": audit_heads(cursor, tables)}


def audit_heads(cursor: Any, tables: dict[str, int]) -> dict[str, dict[str, Any]]:
    """{project id: {count, sequence, hash}} of the last entry of each audit chain."""
    table = quote(AuditEvent._meta.db_table)
    if AuditEvent._meta.db_table not in tables:
        return {}
    cursor.execute(
        f"SELECT a.project_id, c.n, a.sequence, a.hash FROM {table} a "  # noqa: S608
        f"JOIN (SELECT project_id, COUNT(*) AS n, MAX(sequence) AS s FROM {table} "
        "GROUP BY project_id) c ON a.project_id = c.project_id AND a.sequence = c.s "
        "ORDER BY a.project_id"
    )
    return {
        str(project): {"count": int(count), "sequence": int(sequence), "hash": head}
        for project, count, sequence, head in cursor.fetchall()
    }


# --- SQLite ---


def sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database through the online backup API.

    One step copies every page: in WAL mode that is one read transaction, which writers do not
    wait for. Copying in several steps would let a write between two steps restart the copy,
    and a site saving every few milliseconds would keep it from ever finishing.
    """
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer, pages=-1)
        writer.execute("PRAGMA journal_mode=DELETE")
    finally:
        writer.close()
        reader.close()


def sqlite_summary(path: Path) -> dict[str, Any]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return summarize(connection.cursor(), "sqlite")
    finally:
        connection.close()


def copy_stream(source: IO[bytes] | BinaryIO, target: Any) -> None:
    while chunk := source.read(COPY_CHUNK):
        target.write(chunk)


# --- PostgreSQL ---


def pg_params(settings_dict: dict[str, Any]) -> dict[str, str]:
    """libpq parameters of a Django database; the password travels in PGPASSWORD only."""
    return {
        "host": str(settings_dict.get("HOST") or ""),
        "port": str(settings_dict.get("PORT") or ""),
        "user": str(settings_dict.get("USER") or ""),
        "dbname": str(settings_dict.get("NAME") or ""),
        "password": str(settings_dict.get("PASSWORD") or ""),
    }


def pg_env(params: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for name, variable in (
        ("host", "PGHOST"),
        ("port", "PGPORT"),
        ("user", "PGUSER"),
        ("dbname", "PGDATABASE"),
        ("password", "PGPASSWORD"),
    ):
        if params[name]:
            env[variable] = params[name]
        else:
            env.pop(variable, None)
    return env


def pg_connect(params: dict[str, str], *, dbname: str | None = None) -> Any:
    import psycopg
    from psycopg.conninfo import make_conninfo

    values = {k: v for k, v in params.items() if v}
    if dbname is not None:
        values["dbname"] = dbname
    return psycopg.connect(make_conninfo("", **values))


@contextlib.contextmanager
def pg_snapshot(params: dict[str, str]) -> Iterator[tuple[str, Any]]:
    """(snapshot id, cursor) of a read-only repeatable-read transaction held open meanwhile."""
    import psycopg

    connection = pg_connect(params)
    try:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            yield snapshot, cursor
        connection.rollback()
    finally:
        connection.close()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def pg_dump(params: dict[str, str], snapshot: str, sink: Any) -> None:
    """Stream `pg_dump --format=custom` of the exported snapshot into `sink`."""
    command = [_tool("pg_dump"), "--format=custom", "--no-password", f"--snapshot={snapshot}"]
    _stream_out(command, params, sink)


def _stream_out(command: list[str], params: dict[str, str], sink: Any) -> None:
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=pg_env(params)
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        copy_stream(process.stdout, sink)
        errors = process.stderr.read().decode("utf-8", "replace").strip()
        status = process.wait(timeout=DUMP_TIMEOUT_SECONDS)
    if status != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {_last_line(errors)}")


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def pg_restore(params: dict[str, str], source: IO[bytes] | BinaryIO) -> None:
    """Feed a custom-format dump into `pg_restore` for the database `params` names."""
    command = [
        _tool("pg_restore"),
        "--no-password",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        f"--dbname={params['dbname']}",
    ]
    environment = pg_env({**params, "dbname": ""})
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
    ) as process:
        assert process.stdin is not None and process.stderr is not None
        try:
            copy_stream(source, process.stdin)
        except BrokenPipeError:
            pass  # pg_restore stopped early; its status and message say why
        finally:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        errors = process.stderr.read().decode("utf-8", "replace").strip()
        status = process.wait(timeout=DUMP_TIMEOUT_SECONDS)
    if status != 0:
        raise BackupError(f"pg_restore failed: {_last_line(errors)}")


def pg_database_exists(params: dict[str, str], name: str) -> bool:
    with pg_connect(params, dbname="postgres") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def pg_create_database(params: dict[str, str], name: str) -> None:
    connection = pg_connect(params, dbname="postgres")
    connection.autocommit = True
    try:
        connection.execute(f"CREATE DATABASE {quote(name)}")
    finally:
        connection.close()


def pg_drop_database(params: dict[str, str], name: str) -> None:
    connection = pg_connect(params, dbname="postgres")
    connection.autocommit = True
    try:
        connection.execute(f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)")
    finally:
        connection.close()


def pg_table_count(params: dict[str, str]) -> int:
    with pg_connect(params) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()")
        return int(cursor.fetchone()[0])


def pg_empty_schema(params: dict[str, str]) -> None:
    """Drop every table, view, sequence and function of the current schema (`--replace`)."""
    with pg_connect(params) as connection, connection.cursor() as cursor:
        for kind, catalog, column in (
            ("VIEW", "pg_views", "viewname"),
            ("TABLE", "pg_tables", "tablename"),
            ("SEQUENCE", "pg_sequences", "sequencename"),
        ):
            cursor.execute(
                f"SELECT {column} FROM {catalog} WHERE schemaname = current_schema()"  # noqa: S608
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP {kind} IF EXISTS {quote(name)} CASCADE")
        # Functions (the audit trail's trigger function) print quoted by regprocedure.
        cursor.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
            "ON n.oid = p.pronamespace WHERE n.nspname = current_schema()"
        )
        for (signature,) in cursor.fetchall():
            cursor.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
        connection.commit()
