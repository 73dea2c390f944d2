"""Uploads to the Data Import Tool wait here between preview and confirmation.

As dictionary uploads (docs/decisions/0004): the bytes go to the storage API, under the
project and the user who uploaded them, named by a random token; beside them, the options
chosen and the bytes' SHA-256. Confirmation trusts nothing the browser sends but the token:
the file, its options and its checksum are read back here. A file older than
`STAGING_LIFETIME`, another user's, or one whose bytes no longer match their checksum is
treated as missing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from opencrf.records.import_files import FileOptions

_PREFIX = "staging/import"
STAGING_LIFETIME = timedelta(hours=1)
# Files never confirmed nor cancelled are deleted by the daily `import_staging_expire` job
# once this old (the upload's own user also sweeps expired ones at their next upload).
STAGING_KEEP = timedelta(days=1)


@dataclass(frozen=True)
class ToolOptions:
    file: FileOptions = field(default_factory=FileOptions)
    overwrite: bool = False  # blank cells erase stored values
    force_auto_number: bool = False
    allow_new: bool = True  # False: a record id not in the project is an error


@dataclass(frozen=True)
class StagedImport:
    token: str
    name: str  # the file name as uploaded, shown only
    data: bytes
    options: ToolOptions
    sha256: str


def import_stage(
    project_id: int, user_id: int, data: bytes, name: str, options: ToolOptions
) -> StagedImport:
    """Keep `data` and its options for a later confirmation."""
    _sweep(project_id, user_id)
    token = secrets.token_hex(16)
    checksum = hashlib.sha256(data).hexdigest()
    meta = {"name": name, "sha256": checksum, "options": asdict(options)}
    base = _base(project_id, user_id, token)
    default_storage.save(f"{base}.data", ContentFile(data))
    default_storage.save(f"{base}.json", ContentFile(orjson.dumps(meta)))
    return StagedImport(token, name, data, options, checksum)


def import_staged(project_id: int, user_id: int, token: str) -> StagedImport | None:
    """The staged upload, or None when the token is unknown, malformed, another user's,
    expired, or its bytes do not match their checksum."""
    if len(token) != 32 or not all(c in "0123456789abcdef" for c in token):
        return None
    base = _base(project_id, user_id, token)
    if not (default_storage.exists(f"{base}.data") and default_storage.exists(f"{base}.json")):
        return None
    if _expired(f"{base}.json"):
        import_discard(project_id, user_id, token)
        return None
    with default_storage.open(f"{base}.json", "rb") as handle:
        meta = orjson.loads(handle.read())
    with default_storage.open(f"{base}.data", "rb") as handle:
        data: bytes = handle.read()
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        return None
    chosen = dict(meta["options"])
    options = ToolOptions(**{**chosen, "file": FileOptions(**chosen["file"])})
    return StagedImport(token, meta["name"], data, options, meta["sha256"])


def import_discard(project_id: int, user_id: int, token: str) -> None:
    if len(token) != 32 or not all(c in "0123456789abcdef" for c in token):
        return
    base = _base(project_id, user_id, token)
    for suffix in (".data", ".json"):
        if default_storage.exists(base + suffix):
            default_storage.delete(base + suffix)


def _expired(name: str) -> bool:
    modified = default_storage.get_modified_time(name)
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return datetime.now(UTC) - modified > STAGING_LIFETIME


def _sweep(project_id: int, user_id: int) -> None:
    folder = _folder(project_id, user_id)
    if not default_storage.exists(folder):
        return
    for file_name in default_storage.listdir(folder)[1]:
        name = f"{folder}/{file_name}"
        if _expired(name):
            default_storage.delete(name)


def import_staging_expire(now: datetime | None = None) -> int:
    """Delete staged files older than `STAGING_KEEP`, of every project and user; returns how
    many files were deleted. Emptied folders are left (the storage API cannot remove them)."""
    now = now or datetime.now(UTC)
    deleted = 0
    if not default_storage.exists(_PREFIX):
        return 0
    for project in default_storage.listdir(_PREFIX)[0]:
        for user in default_storage.listdir(f"{_PREFIX}/{project}")[0]:
            folder = f"{_PREFIX}/{project}/{user}"
            for file_name in default_storage.listdir(folder)[1]:
                name = f"{folder}/{file_name}"
                modified = default_storage.get_modified_time(name)
                if modified.tzinfo is None:
                    modified = modified.replace(tzinfo=UTC)
                if now - modified > STAGING_KEEP:
                    default_storage.delete(name)
                    deleted += 1
    return deleted


def _folder(project_id: int, user_id: int) -> str:
    return f"{_PREFIX}/{int(project_id)}/{int(user_id)}"


def _base(project_id: int, user_id: int, token: str) -> str:
    return f"{_folder(project_id, user_id)}/{token}"
