"""Uploaded dictionaries wait here between preview and confirmation (through the storage API).

A staged file belongs to the user who uploaded it and expires after `STAGING_LIFETIME`;
older files are swept whenever the same user stages another.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

_PREFIX = "staging/dictionary"
STAGING_LIFETIME = timedelta(hours=1)


def stage_upload(project_id: int, user_id: int, data: bytes) -> str:
    """Keep `data` for a later confirmation; returns the token that names it."""
    _sweep(project_id, user_id)
    token = secrets.token_hex(16)
    default_storage.save(_name(project_id, user_id, token), ContentFile(data))
    return token


def staged_upload(project_id: int, user_id: int, token: str) -> bytes | None:
    """The staged bytes, or None when the token is unknown, malformed, another's or expired."""
    if len(token) != 32 or not all(c in "0123456789abcdef" for c in token):
        return None
    name = _name(project_id, user_id, token)
    if not default_storage.exists(name):
        return None
    if _expired(name):
        default_storage.delete(name)
        return None
    with default_storage.open(name, "rb") as handle:
        data: bytes = handle.read()
    return data


def discard_upload(project_id: int, user_id: int, token: str) -> None:
    if staged_upload(project_id, user_id, token) is not None:
        default_storage.delete(_name(project_id, user_id, token))


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


def _folder(project_id: int, user_id: int) -> str:
    return f"{_PREFIX}/{int(project_id)}/{int(user_id)}"


def _name(project_id: int, user_id: int, token: str) -> str:
    return f"{_folder(project_id, user_id)}/{token}.csv"
