"""Uploaded files in backups: every file of the storage, streamed through one tar part.

Files are read and written only through Django's storage API, so a backup of an S3 storage
works the same as one of a folder. Memory stays flat: each file is copied in chunks.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from django.core.files.base import File
from django.core.files.storage import Storage

from opencrf.ops.backups.errors import CorruptBackup

CHUNK = 1024 * 1024
SPOOL_BYTES = 8 * 1024 * 1024


def storage_names(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every file name in `storage`, depth first, in name order."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:  # a folder storage before its first upload
        return
    for name in sorted(files):
        yield posixpath.join(folder, name) if folder else name
    for name in sorted(folders):
        yield from storage_names(storage, posixpath.join(folder, name) if folder else name)


class HashingReader:
    """Reads through `source`, counting bytes and computing their SHA-256."""

    def __init__(self, source: IO[bytes] | Any) -> None:
        self._source = source
        self.sha256 = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._source.read(size)
        self.sha256.update(data)
        self.count += len(data)
        return data


def write_files_tar(storage: Storage, sink: Any) -> list[dict[str, Any]]:
    """Stream every file of `storage` into a tar written to `sink`; returns the file list."""
    listed = []
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        for name in storage_names(storage):
            try:
                size = storage.size(name)
                handle = storage.open(name, "rb")
            except FileNotFoundError:
                continue  # deleted since it was listed
            with handle:
                reader = HashingReader(handle)
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = size, 0o644, 0
                archive.addfile(info, reader)
            listed.append({"name": name, "size": size, "sha256": reader.sha256.hexdigest()})
    return listed


def safe_name(name: object) -> str:
    """A storage name that cannot leave its folder: relative, no `..`, no backslash."""
    if not isinstance(name, str) or not name or len(name) > 1024:
        raise CorruptBackup(f"unsafe file name in the backup: {name!r}")
    parts = name.split("/")
    if (
        name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise CorruptBackup(f"unsafe file name in the backup: {name!r}")
    return name


def check_file_list(files: object) -> dict[str, dict[str, Any]]:
    """The manifest's file list by name, every name safe and listed once."""
    if not isinstance(files, list):
        raise CorruptBackup("the manifest's file list is not a list")
    by_name: dict[str, dict[str, Any]] = {}
    for item in files:
        if not isinstance(item, dict):
            raise CorruptBackup("the manifest's file list has an entry that is not an object")
        name = safe_name(item.get("name"))
        if name in by_name:
            raise CorruptBackup(f"the manifest lists {name!r} twice")
        by_name[name] = item
    return by_name


def restore_files_tar(
    source: Any, storage: Storage, listed: dict[str, dict[str, Any]], *, replace: bool
) -> dict[str, str]:
    """Write each file of the tar into `storage`; returns {name: SHA-256 of what was written}.

    Only regular files named in the manifest are accepted; anything else stops the restore.
    """
    written: dict[str, str] = {}
    with tarfile.open(fileobj=source, mode="r|") as archive:
        for member in archive:
            name = safe_name(member.name)
            if not member.isfile() or name not in listed or name in written:
                raise CorruptBackup(
                    f"the file part holds {name!r}, which the manifest does not list"
                )
            extracted = archive.extractfile(member)
            assert extracted is not None
            reader = HashingReader(extracted)
            if replace and storage.exists(name):
                storage.delete(name)
            # Spooled so that any storage may seek (S3 uploads rewind); memory stays bounded.
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
                while chunk := reader.read(CHUNK):
                    spool.write(chunk)
                spool.seek(0)
                content = File(spool, name=posixpath.basename(name))
                content.size = member.size
                saved = storage.save(name, content)
            if saved != name:
                storage.delete(saved)
                raise CorruptBackup(f"the storage renamed {name!r} to {saved!r}; restore stopped")
            written[name] = reader.sha256.hexdigest()
    return written


def file_sha256(storage: Storage, name: str) -> str:
    digest = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
