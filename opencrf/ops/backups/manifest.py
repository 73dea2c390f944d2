"""The manifest of a backup, and the parts it names: written, read back, checked.

`manifest.json` stays in the clear so that a backup can be listed and its parts checked
without the key. When the backup is encrypted it holds nothing about study data: the row
counts, audit heads and file list are then in the encrypted part `contents.json`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any, BinaryIO

from django.conf import settings

from opencrf.ops.backups import crypto
from opencrf.ops.backups.errors import BackupFailed, CorruptBackup, WrongKey
from opencrf.ops.backups.store import BackupStore

FORMAT = 1
CONTENTS = "contents.json"
READ_CHUNK = 1024 * 1024
MIN_PASSPHRASE = 20


class HashingSink:
    """Passes writes on to the store's writer, counting bytes and computing their SHA-256."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._target.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


class PartsWriter:
    """Writes the parts of one backup, encrypting them when a key is given."""

    def __init__(self, store: BackupStore, backup_id: str, key: bytes | None) -> None:
        self.store, self.backup_id, self.key = store, backup_id, key
        self.parts: dict[str, dict[str, Any]] = {}

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[Any]:
        writer = self.store.open_writer(self.backup_id, name)
        sink = HashingSink(writer)
        stream: Any = sink
        if self.key is not None:
            stream = crypto.EncryptingWriter(sink, self.key, self.backup_id, name)
        try:
            yield stream
            if self.key is not None:
                stream.close()
            writer.close()
        except BaseException:
            with contextlib.suppress(Exception):
                writer.abort()
            raise
        self.parts[name] = {"sha256": sink.sha256.hexdigest(), "size": sink.size}


def encryption_block(backup_id: str) -> tuple[bytes | None, dict[str, Any] | None]:
    """(key, manifest block) for a new backup; (None, None) when OPENCRF_BACKUP_KEY is unset."""
    passphrase = settings.OPENCRF_BACKUP_KEY
    if not passphrase:
        return None, None
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupFailed(f"OPENCRF_BACKUP_KEY must be at least {MIN_PASSPHRASE} characters long")
    salt = os.urandom(crypto.SALT_SIZE)
    key = crypto.derive_key(passphrase, salt)
    block = {
        "cipher": "AES-256-GCM",
        "chunk_size": crypto.CHUNK_SIZE,
        "kdf": "scrypt",
        "salt": salt.hex(),
        "n": crypto.SCRYPT_N,
        "r": crypto.SCRYPT_R,
        "p": crypto.SCRYPT_P,
        "key_check": crypto.key_check(key, backup_id),
    }
    return key, block


def backup_key(manifest: dict[str, Any]) -> bytes | None:
    """The key that opens this backup's parts, from OPENCRF_BACKUP_KEY; None if not encrypted."""
    block = manifest.get("encryption")
    if not manifest.get("encrypted"):
        return None
    if not isinstance(block, dict) or block.get("kdf") != "scrypt":
        raise CorruptBackup("the manifest's encryption block is damaged")
    passphrase = settings.OPENCRF_BACKUP_KEY
    if not passphrase:
        raise WrongKey(f"backup {manifest['backup_id']} is encrypted: set OPENCRF_BACKUP_KEY")
    n = int(block["n"])
    if n > 2**20 or int(block["r"]) != crypto.SCRYPT_R or int(block["p"]) != crypto.SCRYPT_P:
        raise CorruptBackup("the manifest's key derivation parameters are out of range")
    key = crypto.derive_key(passphrase, bytes.fromhex(block["salt"]), n=n)
    crypto.check_key(key, manifest["backup_id"], block["key_check"])
    return key


def read_manifest(store: BackupStore, backup_id: str) -> dict[str, Any]:
    raw = store.read_manifest(backup_id)
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise CorruptBackup(f"the manifest of backup {backup_id} is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("backup_id") != backup_id:
        raise CorruptBackup(f"the manifest of backup {backup_id} names another backup")
    if manifest.get("format") != FORMAT:
        raise CorruptBackup(f"backup {backup_id} has an unknown format {manifest.get('format')!r}")
    if not isinstance(manifest.get("parts"), dict):
        raise CorruptBackup(f"the manifest of backup {backup_id} lists no parts")
    return manifest


@contextlib.contextmanager
def open_plain(
    store: BackupStore, manifest: dict[str, Any], key: bytes | None, part: str
) -> Iterator[BinaryIO]:
    """A part's plaintext as a stream (decrypted when the backup is encrypted)."""
    if part not in manifest["parts"]:
        raise CorruptBackup(f"backup {manifest['backup_id']} has no part {part}")
    with store.open_part(manifest["backup_id"], part) as raw:
        if key is None:
            yield raw
        else:
            yield crypto.DecryptingReader(raw, key, manifest["backup_id"], part)  # type: ignore[misc]


def load_contents(
    store: BackupStore, manifest: dict[str, Any], key: bytes | None
) -> dict[str, Any]:
    """Row counts, migrations, audit heads and files: inline, or from the encrypted part."""
    if manifest.get("contents") is not None:
        contents = manifest["contents"]
    else:
        with open_plain(store, manifest, key, CONTENTS) as stream:
            try:
                contents = json.loads(stream.read())
            except ValueError:
                raise CorruptBackup("the backup's contents part is not valid JSON") from None
    if not isinstance(contents, dict):
        raise CorruptBackup("the backup's contents are not an object")
    for field in ("tables", "migrations", "audit_heads", "files"):
        if field not in contents:
            raise CorruptBackup(f"the backup's contents lack {field}")
    return contents


def check_parts(store: BackupStore, manifest: dict[str, Any]) -> list[str]:
    """Read every part back from the store; return the problems (empty when all match)."""
    problems = []
    for part, expected in sorted(manifest["parts"].items()):
        digest, size = hashlib.sha256(), 0
        with store.open_part(manifest["backup_id"], part) as stream:
            while chunk := stream.read(READ_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        if size != expected.get("size") or digest.hexdigest() != expected.get("sha256"):
            problems.append(
                f"part {part}: {size} bytes with SHA-256 {digest.hexdigest()[:12]}…, "
                f"the manifest says {expected.get('size')} bytes, "
                f"{str(expected.get('sha256'))[:12]}…"
            )
    return problems
