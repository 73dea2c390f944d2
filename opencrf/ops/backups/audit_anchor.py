"""The audit checkpoint each backup carries, and reading it back for `opencrf audit verify`.

A backup's contents already list every audit chain's head, read from the very snapshot that is
backed up. The signed checkpoint made from those heads goes beside them (in the encrypted part
when the backup is encrypted), so a backup proves what the trail held when it was made, even
after the checkpoint files in the storage were removed. Backups made before checkpoints were
signed still count, as unsigned heads: the backup store is out of a database user's reach.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from opencrf.audit.anchors import (
    AnchorInvalid,
    Checkpoint,
    checkpoint_document,
    checkpoint_parse,
    checkpoint_write,
    heads_from_summary,
)
from opencrf.ops.backups.errors import BackupError
from opencrf.ops.backups.manifest import backup_key, load_contents, read_manifest
from opencrf.ops.backups.store import BACKUP_ID, BackupStore, backup_store

logger = logging.getLogger(__name__)

CHECKPOINT = "audit_checkpoint"


def backup_checkpoint(backup_id: str, created_at: datetime, heads: dict[str, Any]) -> Checkpoint:
    return Checkpoint(
        made_at=created_at, reason=f"backup {backup_id}", chains=heads_from_summary(heads)
    )


def backup_checkpoint_document(
    backup_id: str, created_at: datetime, heads: dict[str, Any]
) -> dict[str, Any]:
    """The signed checkpoint of a backup's audit heads, for its contents."""
    return checkpoint_document(backup_checkpoint(backup_id, created_at, heads))


def anchor_after_backup(manifest: dict[str, Any]) -> str | None:
    """Also keep the backup's checkpoint among the files; None if the storage refused it."""
    contents = manifest.get("contents") or {}
    heads = manifest.get("summary", {}).get("audit_heads", contents.get("audit_heads"))
    if heads is None:
        return None
    made = datetime.fromisoformat(manifest["created_at"])
    try:
        return checkpoint_write(backup_checkpoint(manifest["backup_id"], made, heads))
    except Exception:  # the backup stands, and holds the checkpoint; the hourly one follows
        logger.exception("Could not keep the checkpoint of backup %s", manifest["backup_id"])
        return None


def checkpoint_from(source: str, store: BackupStore | None = None) -> Checkpoint:
    """The checkpoint of a backup (by id) or of a file (a checkpoint, or a backup's manifest).

    AnchorInvalid names what is wrong: no such backup or file, a manifest that cannot be opened,
    a checkpoint whose signature fails.
    """
    if BACKUP_ID.match(source):
        return _from_backup(source, store or backup_store())
    path = Path(source)
    try:
        document = json.loads(path.read_bytes())
    except OSError as error:
        raise AnchorInvalid(f"{source}: {error.strerror or error}") from None
    except ValueError:
        raise AnchorInvalid(f"{source} is not valid JSON") from None
    if isinstance(document, dict) and "backup_id" in document:
        return _from_manifest(document, store)
    return checkpoint_parse(document, source=source)


def _from_backup(backup_id: str, store: BackupStore) -> Checkpoint:
    try:
        manifest = read_manifest(store, backup_id)
    except (BackupError, OSError) as error:
        raise AnchorInvalid(f"backup {backup_id} cannot be read: {error}") from None
    return _from_manifest(manifest, store)


def _from_manifest(manifest: dict[str, Any], store: BackupStore | None) -> Checkpoint:
    backup_id = str(manifest.get("backup_id"))
    source = f"backup {backup_id}"
    try:
        contents = manifest.get("contents") or load_contents(
            store or backup_store(), manifest, backup_key(manifest)
        )
    except (BackupError, OSError) as error:
        raise AnchorInvalid(f"{source}: its contents cannot be read: {error}") from None
    if contents.get(CHECKPOINT) is not None:
        return checkpoint_parse(contents[CHECKPOINT], source=source)
    try:  # a backup from before checkpoints were signed
        made = datetime.fromisoformat(manifest["created_at"])
        heads = heads_from_summary(contents["audit_heads"])
    except (KeyError, TypeError, ValueError):
        raise AnchorInvalid(f"{source} holds no audit heads") from None
    return Checkpoint(made, source, heads, source=source, signed=False)


def newest_backup_checkpoint(store: BackupStore | None = None) -> Checkpoint | None:
    """The checkpoint of the newest complete backup; None when there is none or it cannot be
    read (logged: the store may be away, which is the backups' own alert to raise)."""
    try:
        store = store or backup_store()
        complete = [entry.backup_id for entry in store.list() if entry.complete]
        return checkpoint_from(complete[-1], store) if complete else None
    except AnchorInvalid as error:
        logger.warning("The newest backup's audit checkpoint cannot be used: %s", error)
    except Exception:
        logger.exception("The backup store could not be read for its audit checkpoint")
    return None
