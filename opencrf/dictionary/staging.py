"""Uploaded dictionaries wait here between preview and confirmation (through the storage API)."""

from __future__ import annotations

import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

_PREFIX = "staging/dictionary"


def stage_upload(project_id: int, data: bytes) -> str:
    """Keep `data` for a later confirmation; returns the token that names it."""
    token = secrets.token_hex(16)
    default_storage.save(_name(project_id, token), ContentFile(data))
    return token


def staged_upload(project_id: int, token: str) -> bytes | None:
    """The staged bytes, or None when the token is unknown or malformed."""
    if len(token) != 32 or not all(c in "0123456789abcdef" for c in token):
        return None
    name = _name(project_id, token)
    if not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as handle:
        data: bytes = handle.read()
    return data


def discard_upload(project_id: int, token: str) -> None:
    if staged_upload(project_id, token) is not None:
        default_storage.delete(_name(project_id, token))


def _name(project_id: int, token: str) -> str:
    return f"{_PREFIX}/{int(project_id)}/{token}.csv"
