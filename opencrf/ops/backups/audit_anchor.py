"""The audit checkpoint each backup carries, and reading it back for `opencrf audit verify`.

A backup's contents already list every audit chain's head, read from the very snapshot that is
backed up. The signed checkpoint made from those heads goes beside them (in the encrypted part
when the backup is encrypted), so a backup proves what the trail held when it was made, even
after the checkpoint files in the storage were removed. `trail_anchors` gathers what the trail
must match, for `opencrf audit verify` and the jobs alike: the checkpoint files and the signed
checkpoint of every kept backup since the newest restart. Backups made before checkpoints were
signed still count when named (`--anchor`), as unsigned heads: the backup store is out of a
database user's reach.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from opencrf.audit.anchors import (
    AnchorInvalid,
    Checkpoint,
    checkpoint_document,
    checkpoint_parse,
    checkpoint_write,
    checkpoints_read,
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


@dataclass(frozen=True, slots=True)
class TrailAnchors:
    """The checkpoints the trail must still match, from the files and the kept backups.

    `refused` names checkpoints whose signature fails (a fault, as for a file); `unread` names
    backups, or the store, that could not be read (a warning: their checkpoints were not
    compared, and the backups' own alert is the one to raise about the store).
    """

    checkpoints: list[Checkpoint]
    refused: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)


def trail_anchors(*, backups: bool = True, store: BackupStore | None = None) -> TrailAnchors:
    """The anchors of `opencrf audit verify` and of the jobs alike: the checkpoint files from
    the newest restart on, and the signed checkpoint of every kept backup made since then.

    Every kept backup counts, not only the newest: a backup made after the trail was cut saw the
    cut trail, and only an earlier one still shows what was removed.
    """
    stored = checkpoints_read()
    in_force = stored.in_force()
    restarts = [checkpoint.made_at for checkpoint in in_force if checkpoint.restart]
    found = TrailAnchors(in_force, list(stored.refused))
    if not backups:
        return found
    kept = kept_backup_checkpoints(since=restarts[-1] if restarts else None, store=store)
    # The copy a backup keeps among the files equals the one inside it: count it once.
    extra = [checkpoint for checkpoint in kept.checkpoints if checkpoint not in in_force]
    return TrailAnchors(in_force + extra, found.refused + kept.refused, kept.unread)


def kept_backup_checkpoints(
    *, since: datetime | None = None, store: BackupStore | None = None
) -> TrailAnchors:
    """The signed checkpoint of each complete backup in the store made at or after `since`.

    Only each backup's manifest and, when encrypted, its small contents part are read, never
    its data. Backups from before checkpoints were signed are left out (`--anchor` reads them).
    """
    try:
        store = store or backup_store()
        # Ids carry the time to the second; the exact time is the checkpoint's, checked below.
        earliest = since - timedelta(seconds=1) if since is not None else None
        entries = [
            e for e in store.list() if e.complete and (not earliest or e.created_at >= earliest)
        ]
    except Exception as error:  # a folder gone, a bucket unreachable, credentials refused
        where = getattr(store, "location", None) or "the backup store"
        return TrailAnchors([], unread=[f"the backup store {where} cannot be read: {error}"])
    found = TrailAnchors([])
    for entry in entries:
        try:
            checkpoint = _signed_checkpoint(entry.backup_id, store)
        except AnchorInvalid as error:
            found.refused.append(str(error))
            continue
        except Exception as error:  # S3 errors are no BackupError
            found.unread.append(f"backup {entry.backup_id} cannot be read: {error}")
            continue
        if checkpoint is not None and (since is None or checkpoint.made_at >= since):
            found.checkpoints.append(checkpoint)
    return found


def _signed_checkpoint(backup_id: str, store: BackupStore) -> Checkpoint | None:
    """The backup's signed checkpoint, None if it has none; AnchorInvalid if it fails."""
    manifest = read_manifest(store, backup_id)
    contents = manifest.get("contents") or load_contents(store, manifest, backup_key(manifest))
    document = contents.get(CHECKPOINT)
    if document is None:
        return None
    return checkpoint_parse(document, source=f"backup {backup_id}")
