"""Storing and deleting uploaded files. Bytes go through Django's storage API only (DESIGN §5.7).

An upload is read once, as a stream: its first 4 KiB are sniffed before anything is written,
then every chunk is counted, hashed, passed to the virus scanner (when one is configured) and
written to the storage. A refusal at any point removes what was written and records nothing,
except a virus, which is refused and audited as "file.refused".
"""

from __future__ import annotations

import hashlib
import io
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import IO, NoReturn, Protocol, cast

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.audit.models import AuditEvent
from opencrf.audit.services import AuditContext, AuditTarget, audit_event_create
from opencrf.core.errors import NotFound
from opencrf.files.checks import (
    SNIFF_BYTES,
    FileRefused,
    check_content,
    check_size,
    sanitise_name,
)
from opencrf.files.clamd import InstreamScan, ScannerUnavailable, Verdict
from opencrf.files.models import StoredFile
from opencrf.projects.models import Project
from opencrf.projects.selectors import member_rights

# Keys a target's `extra` adds to a file entry's changes, and a deletion copies from its upload.
FILE_SCOPE_KEYS = ("folder_id",)


class Upload(Protocol):
    """What `file_store` reads: a Django UploadedFile, or anything shaped like one."""

    @property
    def name(self) -> str | None: ...

    @property
    def size(self) -> int | None: ...

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]: ...


class FileInfected(FileRefused):
    """The virus scanner found something; the refusal is audited."""


def storage_key(project: Project) -> str:
    """An internal name: built from ids only, never from the uploaded name."""
    return f"projects/{project.pk}/files/{uuid.uuid4().hex}"


def _split_head(chunks: Iterable[bytes]) -> tuple[bytes, bool, Iterator[bytes]]:
    """The first SNIFF_BYTES, whether that is the whole file, and every chunk again."""
    source = iter(chunks)
    taken: list[bytes] = []
    length = 0
    for chunk in source:
        taken.append(chunk)
        length += len(chunk)
        if length > SNIFF_BYTES:
            break
    head = b"".join(taken)
    return head[:SNIFF_BYTES], length <= SNIFF_BYTES, itertools.chain(taken, source)


class _Stream:
    """A read-once file object over chunks, calling `on_chunk` for each as it passes.

    Storage backends read it through `read()` (S3) or `File.chunks()` (file system); it cannot
    seek back, so nothing ever holds the whole file.
    """

    def __init__(self, chunks: Iterator[bytes], on_chunk: Callable[[bytes], None]) -> None:
        self._chunks = chunks
        self._on_chunk = on_chunk
        self._buffer = b""
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if offset == 0 and whence == io.SEEK_SET and self._position == 0:
            return 0
        raise io.UnsupportedOperation("an upload stream cannot seek")

    def read(self, size: int | None = -1) -> bytes:
        wanted = -1 if size is None else size
        while wanted < 0 or len(self._buffer) < wanted:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._on_chunk(chunk)
            self._buffer += chunk
        cut = len(self._buffer) if wanted < 0 else wanted
        data, self._buffer = self._buffer[:cut], self._buffer[cut:]
        self._position += len(data)
        return data

    def close(self) -> None:
        self._chunks = iter(())


class _Intake:
    """Counts, hashes and scans the chunks of one upload; refuses it once it passes the limit."""

    def __init__(self, name: str, max_bytes: int, scan: InstreamScan | None) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self.size = 0
        self.digest = hashlib.sha256()
        self.scan = scan

    def __call__(self, chunk: bytes) -> None:
        self.size += len(chunk)
        check_size(self.name, self.size, self.max_bytes, allow_empty=True)
        self.digest.update(chunk)
        if self.scan is not None:
            self.scan.send(chunk)

    def verdict(self) -> Verdict:
        return self.scan.finish() if self.scan is not None else Verdict(clean=True)


def _open_scan() -> InstreamScan | None:
    address = settings.OPENCRF_CLAMD_ADDRESS
    return InstreamScan(address) if address else None


def _scanner_unavailable() -> FileRefused:
    return FileRefused(_("The virus scanner is unavailable; try again later."))


def file_store(
    *,
    context: AuditContext,
    project: Project,
    upload: Upload,
    max_bytes: int | None = None,
    allow_empty: bool = False,
    target: AuditTarget | None = None,
) -> StoredFile:
    """Check, scan and store one upload; audit "file.store". Raises FileRefused.

    Run it outside the transaction of the data save that refers to the file: a virus's
    "file.refused" entry must survive the refusal. `target` ties the entries to the record the
    file is for, or to a repository folder (its `extra` join the entry's changes); without
    one, to the uploader's data access group, so that no other site reads its name.
    """
    target = target or _uploader_target(context, project)
    name = sanitise_name(upload.name or "")
    limit = settings.OPENCRF_FILE_MAX_BYTES if max_bytes is None else max_bytes
    if upload.size is not None:
        check_size(name, upload.size, limit, allow_empty=allow_empty)
    head, complete, chunks = _split_head(upload.chunks())
    media_type = check_content(name, head, complete=complete, allow_empty=allow_empty)
    key = storage_key(project)
    try:
        intake = _Intake(name, limit, _open_scan())
    except ScannerUnavailable:
        raise _scanner_unavailable() from None
    try:
        stream = cast("IO[bytes]", _Stream(chunks, intake))  # duck-typed: read() and chunks()
        key = default_storage.save(key, File(stream, name=key))
        verdict = intake.verdict()
    except ScannerUnavailable:
        default_storage.delete(key)
        raise _scanner_unavailable() from None
    except BaseException:
        default_storage.delete(key)
        if intake.scan is not None:
            intake.scan.close()
        raise
    if not verdict.clean:
        default_storage.delete(key)
        _audit_refusal(context, project, target, name, intake, verdict)
    try:
        return _record(context, project, target, key, name, media_type, intake)
    except BaseException:
        default_storage.delete(key)
        raise


@transaction.atomic
def _record(
    context: AuditContext,
    project: Project,
    target: AuditTarget,
    key: str,
    name: str,
    media_type: str,
    intake: _Intake,
) -> StoredFile:
    stored = StoredFile.objects.create(
        project=project,
        key=key,
        original_name=name,
        size=intake.size,
        media_type=media_type,
        sha256=intake.digest.hexdigest(),
        created_by=context.actor,
    )
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="file.store",
        target=target,
        details=f"Upload file: {name}",
        changes={
            "file_id": stored.pk,
            "name": name,
            "size": stored.size,
            "media_type": media_type,
            "sha256": stored.sha256,
            **target.extra,
        },
    )
    return stored


def _audit_refusal(
    context: AuditContext,
    project: Project,
    target: AuditTarget,
    name: str,
    intake: _Intake,
    verdict: Verdict,
) -> NoReturn:
    with transaction.atomic():
        audit_event_create(
            context=context,
            project_id=project.pk,
            action="file.refused",
            target=target,
            details=f"Refuse infected file: {name}",
            changes={
                "name": name,
                "size": intake.size,
                "sha256": intake.digest.hexdigest(),
                "signature": verdict.signature,
                **target.extra,
            },
        )
    raise FileInfected(
        _("“%(name)s” was refused: the virus scanner found %(signature)s.")
        % {"name": name, "signature": verdict.signature}
    )


@transaction.atomic
def file_delete(
    *,
    context: AuditContext,
    stored_file: StoredFile,
    reason: str = "",
    target: AuditTarget | None = None,
) -> StoredFile:
    """Mark the file deleted (its bytes stay until a purge job); audit "file.delete".

    Deleting a file that is already deleted changes nothing and records nothing. The entry
    belongs to `target`, or else where the file's upload entry belongs (its record, group or
    folder).
    """
    stored = StoredFile.objects.select_for_update().get(pk=stored_file.pk)
    if stored.deleted_at is not None:
        return stored
    stored.deleted_at = timezone.now()
    stored.save(update_fields=["deleted_at"])
    target = target or _upload_target(stored)
    changes = {"file_id": stored.pk, "name": stored.original_name, "sha256": stored.sha256}
    audit_event_create(
        context=context,
        project_id=stored.project_id,
        action="file.delete",
        target=target,
        details=f"Delete file: {stored.original_name}",
        changes={**changes, **target.extra},
        reason=reason,
    )
    return stored


def _uploader_target(context: AuditContext, project: Project) -> AuditTarget:
    """An upload for no named record belongs to the uploader's group, if they are in one."""
    if context.actor is None:
        return AuditTarget()
    try:
        return AuditTarget(group_id=member_rights(context.actor, project).group_id)
    except NotFound:  # not a member: an administrator, or a survey's system actor
        return AuditTarget()


def _upload_target(stored: StoredFile) -> AuditTarget:
    """The target of the file's upload entry; a file stored before entries had one, none."""
    upload = (
        AuditEvent.objects.filter(
            project_id=stored.project_id, action="file.store", changes__file_id=stored.pk
        )
        .order_by("sequence")
        .first()
    )
    if upload is None:
        return AuditTarget()
    return AuditTarget(
        record=upload.record,
        event=upload.event,
        instrument=upload.instrument,
        instance=upload.instance,
        record_key=upload.record_key,
        group_id=upload.group_id,
        extra={key: upload.changes[key] for key in FILE_SCOPE_KEYS if key in upload.changes},
    )
