"""Where backups live: a folder or an S3-compatible bucket, behind one small interface.

A backup is a set of parts (`database.*`, `files.tar`, …) and a `manifest.json` naming each
part's size and SHA-256. The manifest is written last: a backup without one is incomplete and
never counts as a generation. The folder store writes into `<id>.partial/` and renames it when
the manifest is in place; the S3 store puts the manifest object after every part.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlparse

from django.conf import settings

from opencrf.ops.backups.errors import BackupFailed, BackupNotFound, InvalidBackupId

MANIFEST = "manifest.json"
BACKUP_ID = re.compile(r"\A(\d{8}T\d{6}Z)-[0-9a-f]{4}\Z")
PART_NAME = re.compile(r"\A[a-z0-9][a-z0-9._-]{0,63}\Z")
PARTIAL = ".partial"
S3_PART_SIZE = 8 * 1024 * 1024


def validate_backup_id(backup_id: str) -> str:
    """Return `backup_id` if it has the form the store writes; refuse anything path-like."""
    if not BACKUP_ID.match(backup_id):
        raise InvalidBackupId(
            f"{backup_id!r} is not a backup id (expected e.g. 20261202T025900Z-3fa2)"
        )
    return backup_id


def backup_time(backup_id: str) -> datetime:
    """The UTC time a backup id was made at (ids sort chronologically)."""
    match = BACKUP_ID.match(backup_id)
    if match is None:
        raise InvalidBackupId(f"{backup_id!r} is not a backup id")
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _check_part(part: str) -> str:
    if not PART_NAME.match(part) or part == MANIFEST:
        raise ValueError(f"invalid part name {part!r}")
    return part


@dataclass(frozen=True, slots=True)
class BackupEntry:
    backup_id: str
    created_at: datetime
    size_bytes: int
    encrypted: bool
    complete: bool


class PartWriter(Protocol):
    def write(self, data: bytes | bytearray | memoryview) -> int: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


class BackupStore(Protocol):
    location: str

    def list(self) -> list[BackupEntry]: ...
    def open_writer(self, backup_id: str, part: str) -> PartWriter: ...
    def commit(self, backup_id: str, manifest: bytes) -> None: ...
    def read_manifest(self, backup_id: str) -> bytes: ...
    def open_part(
        self, backup_id: str, part: str
    ) -> contextlib.AbstractContextManager[BinaryIO]: ...
    def delete(self, backup_id: str) -> None: ...
    def where(self, backup_id: str) -> str: ...


def backup_store() -> BackupStore:
    """The configured store: the S3 bucket when OPENCRF_BACKUP_S3_URL is set, else the folder."""
    if settings.OPENCRF_BACKUP_S3_URL:
        return S3Store.from_settings()
    return FolderStore(Path(settings.OPENCRF_BACKUP_DIR))


def _encrypted_flag(manifest: bytes) -> bool:
    try:
        return bool(json.loads(manifest).get("encrypted", False))
    except (ValueError, AttributeError):
        return False


# --- A folder on this machine (or a mounted disk). ---


class _FileWriter:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle = path.open("wb")

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._handle.write(data)

    def close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()

    def abort(self) -> None:
        self._handle.close()
        self._path.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class FolderStore:
    """Backups as folders `<root>/<id>/`; one still being written is `<root>/<id>.partial/`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def where(self, backup_id: str) -> str:
        return str(self.root / validate_backup_id(backup_id))

    def list(self) -> list[BackupEntry]:
        if not self.root.is_dir():
            return []
        entries = []
        for child in self.root.iterdir():
            name = child.name.removesuffix(PARTIAL)
            if not child.is_dir() or not BACKUP_ID.match(name):
                continue
            complete = child.name == name and (child / MANIFEST).is_file()
            size = sum(part.stat().st_size for part in child.iterdir() if part.is_file())
            encrypted = complete and _encrypted_flag((child / MANIFEST).read_bytes())
            entries.append(BackupEntry(name, backup_time(name), size, encrypted, complete))
        return sorted(entries, key=lambda entry: (entry.backup_id, entry.complete))

    def open_writer(self, backup_id: str, part: str) -> PartWriter:
        folder = self.root / (validate_backup_id(backup_id) + PARTIAL)
        folder.mkdir(parents=True, exist_ok=True)
        return _FileWriter(folder / _check_part(part))

    def commit(self, backup_id: str, manifest: bytes) -> None:
        partial = self.root / (validate_backup_id(backup_id) + PARTIAL)
        final = self.root / backup_id
        if final.exists():
            raise BackupFailed(f"backup {backup_id} already exists in {self.root}")
        writer = _FileWriter(partial / MANIFEST)
        writer.write(manifest)
        writer.close()
        _fsync_dir(partial)
        partial.rename(final)
        _fsync_dir(self.root)

    def read_manifest(self, backup_id: str) -> bytes:
        path = self.root / validate_backup_id(backup_id) / MANIFEST
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise BackupNotFound(f"no complete backup {backup_id} in {self.root}") from None

    @contextlib.contextmanager
    def open_part(self, backup_id: str, part: str) -> Iterator[BinaryIO]:
        path = self.root / validate_backup_id(backup_id) / _check_part(part)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise BackupNotFound(f"backup {backup_id} has no part {part}") from None
        with handle:
            yield handle

    def delete(self, backup_id: str) -> None:
        for name in (validate_backup_id(backup_id), backup_id + PARTIAL):
            shutil.rmtree(self.root / name, ignore_errors=True)


# --- An S3-compatible bucket. ---


class _S3Writer:
    """Streams a part to S3: one PUT when small, else a multipart upload of 8 MiB parts."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._client, self._bucket, self._key = client, bucket, key
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._buffer += data
        while len(self._buffer) >= S3_PART_SIZE:
            self._send(bytes(self._buffer[:S3_PART_SIZE]))
            del self._buffer[:S3_PART_SIZE]
        return len(data)

    def _send(self, body: bytes) -> None:
        if self._upload_id is None:
            created = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        sent = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
        )
        self._parts.append({"ETag": sent["ETag"], "PartNumber": number})

    def close(self) -> None:
        if self._upload_id is None:
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer))
            return
        if self._buffer:
            self._send(bytes(self._buffer))
        self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    def abort(self) -> None:
        if self._upload_id is not None:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id
            )


class S3Store:
    """Backups as objects `<prefix>/<id>/<part>`; the manifest object is written last."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket = client, bucket
        self.prefix = prefix.strip("/")
        self.location = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    @classmethod
    def from_settings(cls) -> S3Store:
        import boto3
        from botocore.config import Config

        url = urlparse(settings.OPENCRF_BACKUP_S3_URL)
        if url.scheme != "s3" or not url.netloc:
            raise BackupFailed("OPENCRF_BACKUP_S3_URL must look like s3://bucket/prefix")
        client = boto3.client(
            "s3",
            endpoint_url=settings.OPENCRF_BACKUP_S3_ENDPOINT or None,
            region_name=settings.OPENCRF_BACKUP_S3_REGION or None,
            aws_access_key_id=settings.OPENCRF_BACKUP_S3_ACCESS_KEY or None,
            aws_secret_access_key=settings.OPENCRF_BACKUP_S3_SECRET_KEY or None,
            config=Config(
                s3={"addressing_style": "path"},
                # Many S3-compatible stores do not know the newer default checksums.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                retries={"max_attempts": 5, "mode": "standard"},
            ),
        )
        return cls(client, url.netloc, url.path)

    def _key(self, backup_id: str, name: str = "") -> str:
        folder = f"{self.prefix}/{backup_id}" if self.prefix else backup_id
        return f"{folder}/{name}"

    def where(self, backup_id: str) -> str:
        return f"{self.location}/{validate_backup_id(backup_id)}"

    def _objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def list(self) -> list[BackupEntry]:
        start = f"{self.prefix}/" if self.prefix else ""
        sizes: dict[str, int] = {}
        complete: set[str] = set()
        for item in self._objects(start):
            backup_id, _slash, name = item["Key"][len(start) :].partition("/")
            if not BACKUP_ID.match(backup_id) or not name:
                continue
            sizes[backup_id] = sizes.get(backup_id, 0) + int(item["Size"])
            if name == MANIFEST:
                complete.add(backup_id)
        entries = []
        for backup_id, size in sorted(sizes.items()):
            done = backup_id in complete
            encrypted = done and _encrypted_flag(self.read_manifest(backup_id))
            entries.append(BackupEntry(backup_id, backup_time(backup_id), size, encrypted, done))
        return entries

    def open_writer(self, backup_id: str, part: str) -> PartWriter:
        key = self._key(validate_backup_id(backup_id), _check_part(part))
        return _S3Writer(self.client, self.bucket, key)

    def commit(self, backup_id: str, manifest: bytes) -> None:
        key = self._key(validate_backup_id(backup_id), MANIFEST)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=manifest)

    def read_manifest(self, backup_id: str) -> bytes:
        key = self._key(validate_backup_id(backup_id), MANIFEST)
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except self.client.exceptions.NoSuchKey:
            raise BackupNotFound(f"no complete backup {backup_id} in {self.location}") from None

    @contextlib.contextmanager
    def open_part(self, backup_id: str, part: str) -> Iterator[BinaryIO]:
        key = self._key(validate_backup_id(backup_id), _check_part(part))
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except self.client.exceptions.NoSuchKey:
            raise BackupNotFound(f"backup {backup_id} has no part {part}") from None
        try:
            yield body
        finally:
            body.close()

    def delete(self, backup_id: str) -> None:
        prefix = self._key(validate_backup_id(backup_id))
        keys = [{"Key": item["Key"]} for item in self._objects(prefix)]
        for start in range(0, len(keys), 1000):
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
            )
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        for upload in uploads.get("Uploads", []):
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
