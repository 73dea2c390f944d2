"""The export archive: exports asked for on a report's page, written by a background job and
kept until they expire (REDCap's "Data Export Files" in the File Repository).

- `export_request` checks the request, records an `ExportFile` (audited `export.request`) and
  queues `jobs.export_file_write`, which calls `export_file_write` here.
- `export_file_write` re-checks the requester (still an active member, with exactly the rights
  and data access group held when asking), then streams `services.export_write` into a
  temporary file, hashes it, and stores it with Django's default storage.
- `exports_visible_to` / `access_export` decide who sees an entry: members who may use
  reports, of the requester's data access group (members without a group see every entry),
  whose export right on each instrument is at least the requester's. A grouped member never
  sees another site's file, and nobody sees a file made with fuller rights than their own.
  A requester also sees their own entries that failed, with the reason (no file is kept for
  them), so that an export refused because their rights changed does not just vanish.
- `export_download_open` opens a finished file (audited `export.download`);
  `exports_expire` deletes files past their day (`OPENCRF_EXPORT_KEEP_DAYS`).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext, AuditTarget, audit_event_create
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.dictionary.design import design_of
from opencrf.exports import selectors
from opencrf.exports.deidentify import Deidentify
from opencrf.exports.models import ExportFile
from opencrf.exports.services import FORMATS, export_write, odm_check
from opencrf.exports.table import ExportRequest, export_table
from opencrf.projects.models import ExportRight, Project
from opencrf.projects.rights import Rights
from opencrf.projects.selectors import member_rights, repeat_settings
from opencrf.records.models import FormData
from opencrf.records.selectors import records_visible_to

logger = logging.getLogger(__name__)

# Fullness of an export right: a viewer needs at least the requester's on every instrument.
FULLNESS = (
    ExportRight.NONE,
    ExportRight.DEIDENTIFIED,
    ExportRight.REMOVE_IDENTIFIERS,
    ExportRight.FULL,
)
LISTED = 200  # the newest entries shown on the archive page
ODM_REPORT = "A"  # the one report ODM is written for: all data, no selection
Status = ExportFile.Status


def _fullness(right: str) -> int:
    return FULLNESS.index(right) if right in FULLNESS else 1  # unknown: as de-identified


def rights_snapshot(rights: Rights, project: Project) -> dict[str, str]:
    """Instrument → the export right held on it (what the file may contain)."""
    return {i.name: rights.export(i.name) for i in design_of(project).instruments}


# Which report, as asked


@dataclass(frozen=True)
class Source:
    title: str  # "" for the built-in reports, whose titles are translated when shown
    request: ExportRequest
    query: dict[str, Any]  # the choices that were used; anything else is dropped


def export_source(user: User, project: Project, key: str, query: Mapping[str, Any]) -> Source:
    """Report `key` ("A", "B" or a saved report's id) with the choices of `query` (B's
    instruments and events; live filters), as `user` may run it."""
    if key in selectors.BUILT_IN:
        forms, events = _strings(query.get("forms")), _strings(query.get("events"))
        survey = query.get("survey_fields") == "1"
        built = selectors.built_in_request(project, key, forms, events, survey_fields=survey)
        used: dict[str, Any] = {}
        if key == "B":
            used = {"forms": list(built.forms), "events": [e for e in events if e in built.events]}
        return Source("", built, {**used, **({"survey_fields": "1"} if survey else {})})
    report = selectors.access_report(user, project, key)
    chosen = {name: _string(query.get(f"live_{name}")) for name in report.live_filters}
    live = selectors.live_filters(user, project, report, chosen)
    kept = {f"live_{f.name}": f.chosen for f in live if f.chosen}
    return Source(report.title, selectors.report_request(project, report, live), kept)


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def report_query(key: str, data: Any) -> dict[str, Any]:
    """The choices to keep from a posted export form (a QueryDict)."""
    if key in selectors.BUILT_IN:
        chosen = {"forms": data.getlist("forms"), "events": data.getlist("events")}
        survey = {"survey_fields": "1"} if data.get("survey_fields") == "1" else {}
        return {**(chosen if key == "B" else {}), **survey}
    return {name: data.get(name) for name in data if name.startswith("live_") and data.get(name)}


def choices_of(export: ExportFile) -> str:
    """The choices the export was asked with, as names: `live_sex=1`, `forms=a, b`."""
    query = export.options.get("query", {})
    parts = []
    for name, value in sorted(query.items()):
        text = ", ".join(value) if isinstance(value, list) else str(value)
        if text:
            parts.append(f"{name.removeprefix('live_')} = {text}")
    return "; ".join(parts)


def title_of(export: ExportFile) -> str:
    built_in = selectors.BUILT_IN.get(export.report_key)
    return str(built_in) if built_in is not None else export.report_title


# Asking for an export


def export_request(
    *,
    context: AuditContext,
    project: Project,
    key: str,
    query: Mapping[str, Any],
    format: str,
    deidentify: Deidentify,
) -> ExportFile:
    """Record an export of report `key` for `context.actor` and queue its job. Everything the
    job would refuse at once (format, report, rights, an ODM selection) is refused here and
    nothing is recorded."""
    user = context.actor
    assert user is not None
    if format not in FORMATS:
        raise InvalidInput(_("Unknown export format %(format)s.") % {"format": format})
    if format == "odm" and key != ODM_REPORT:
        raise InvalidInput(_("The ODM export holds all data; it takes no selection."))
    rights = member_rights(user, project)
    source = export_source(user, project, key, query)
    request = replace(source.request, deidentify=deidentify)
    table = export_table(user, project, request)  # PermissionDenied without an export right
    if format == "odm":
        odm_check(table, request)
    export = _record(context, project, key, source, format, deidentify, rights)
    from opencrf.exports.jobs import export_file_write  # jobs import this module

    export_file_write.enqueue(export.pk)
    return export


@transaction.atomic
def _record(
    context: AuditContext,
    project: Project,
    key: str,
    source: Source,
    format: str,
    deidentify: Deidentify,
    rights: Rights,
) -> ExportFile:
    options = {"query": source.query, "deidentify": _chosen(deidentify)}
    assert context.actor is not None
    export = ExportFile.objects.create(
        project=project,
        report_key=key,
        report_title=source.title,
        format=format,
        options=options,
        rights=rights_snapshot(rights, project),
        group_id=rights.group_id,
        requested_by=context.actor,
    )
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="export.request",
        target=AuditTarget(group_id=export.group_id),
        details=_summary(export),
        changes={"export": export.pk, "report": key, "format": format, **options},
    )
    return export


def _chosen(deidentify: Deidentify) -> list[str]:
    return [name for name in deidentify.names() if getattr(deidentify, name)]


def _summary(export: ExportFile) -> str:
    chosen = ", ".join(export.options.get("deidentify", [])) or "none"
    query = "; ".join(f"{k}={v}" for k, v in sorted(export.options.get("query", {}).items()))
    return f"report {export.report_key}; format {export.format}; de-identification: {chosen}" + (
        f"; {query}" if query else ""
    )


# The job


def export_file_write(export_id: int) -> ExportFile | None:
    """Write queued export `export_id`; None when it is not queued (already taken, or gone).
    A refusal or failure is recorded on the entry, never raised: the job itself succeeded."""
    claimed = ExportFile.objects.filter(pk=export_id, status=Status.QUEUED).update(
        status=Status.RUNNING
    )
    if not claimed:
        return None
    export = ExportFile.objects.select_related("project", "requested_by").get(pk=export_id)
    key = ""
    try:
        request = _job_request(export)
        _expect(export, request)
        written = _write(export, request)
        key = written.key
        return _finish(export, written)
    except (InvalidInput, NotFound, PermissionDenied) as error:
        return _fail(export, key, error.message)
    except Exception as error:
        logger.exception("Export %s failed", export_id)
        return _fail(export, key, _("The export failed (%(error)s).") % _named(error))


def _named(error: Exception) -> dict[str, str]:
    return {"error": type(error).__name__}


def _job_request(export: ExportFile) -> ExportRequest:
    """The request as the requester may make it now: refused if they are no longer an active
    member, or their rights or data access group changed since they asked."""
    user, project = export.requested_by, export.project
    if not user.is_active:
        raise PermissionDenied(_("The requester's account is no longer active."))
    rights = member_rights(user, project)  # NotFound for a former member
    if rights_snapshot(rights, project) != export.rights or rights.group_id != export.group_id:
        raise PermissionDenied(
            _("The requester's export rights changed after the export was asked for.")
        )
    source = export_source(user, project, export.report_key, export.options["query"])
    chosen = dict.fromkeys(export.options.get("deidentify", []), True)
    return replace(source.request, labels=False, deidentify=Deidentify(**chosen))


def _expect(export: ExportFile, request: ExportRequest) -> None:
    """The rows to come, for the progress bar: exact for an export without a filter. One row
    per record and event with data, one per instance of a repeating form, and one per record,
    event and instance of a repeating event; three counts in SQL."""
    records = records_visible_to(export.requested_by, export.project)
    if request.groups:
        records = records.filter(group_id__in=request.groups)
    forms = FormData.objects.filter(record__in=records)
    if request.events:
        forms = forms.filter(event__unique_name__in=request.events)
    repeats = repeat_settings(export.project)
    repeating_form, repeating_event = Q(pk__in=[]), Q(pk__in=[])
    for event_id, form_name in repeats:
        if form_name:
            repeating_form |= Q(event_id=event_id, form_name=form_name)
        else:
            repeating_event |= Q(event_id=event_id)
    plain = forms.exclude(repeating_form | repeating_event)
    expected = (
        plain.values("record_id", "event_id").distinct().count()
        + forms.filter(repeating_form).count()
        + forms.filter(repeating_event)
        .values("record_id", "event_id", "instance")
        .distinct()
        .count()
    )
    ExportFile.objects.filter(pk=export.pk).update(rows_expected=expected)


@dataclass(frozen=True)
class Written:
    key: str
    rows: int
    size: int
    sha256: str
    filename: str


def _write(export: ExportFile, request: ExportRequest) -> Written:
    """Stream the export into a temporary file, then store it."""
    project = export.project
    context = AuditContext(actor=export.requested_by)

    def progress(rows: int) -> None:
        ExportFile.objects.filter(pk=export.pk).update(rows_written=rows)

    with tempfile.TemporaryFile(prefix="opencrf-export-") as temporary:
        result = export_write(
            context=context,
            project=project,
            format=export.format,
            request=request,
            out=temporary,
            progress=progress,
        )
        # Hashed once written, not as written: zip-based formats seek back to finish headers.
        size = temporary.seek(0, 2)  # the end, wherever the writer left off
        temporary.seek(0)
        sha256 = hashlib.file_digest(temporary, "sha256").hexdigest()
        temporary.seek(0)
        key = default_storage.save(_storage_key(project), File(temporary))
    extension = FORMATS[export.format].extension
    name = f"project_{project.pk}_report_{export.report_key}_{export.format}.{extension}"
    return Written(key, result.rows, size, sha256, name)


def _storage_key(project: Project) -> str:
    """An internal name from ids only (as uploaded files' keys)."""
    return f"projects/{project.pk}/exports/{uuid.uuid4().hex}"


def _finish(export: ExportFile, written: Written) -> ExportFile:
    now = timezone.now()
    export.status = Status.DONE
    export.rows_written = export.rows_expected = written.rows
    export.key, export.size, export.sha256 = written.key, written.size, written.sha256
    export.filename = written.filename
    export.finished_at = now
    export.expires_at = now + timedelta(days=settings.OPENCRF_EXPORT_KEEP_DAYS)
    export.save()
    return export


def _fail(export: ExportFile, key: str, message: str) -> ExportFile:
    if key:
        default_storage.delete(key)
    export.status, export.error, export.key = Status.FAILED, message, ""
    export.finished_at = timezone.now()
    export.save()
    return export


# Who sees what


def may_see(rights: Rights, project: Project, export: ExportFile) -> bool:
    """Whether a member with `rights` may see (and download) `export`: see the module's note."""
    if not selectors.may_use_reports(rights, project):
        return False
    if rights.group_id is not None and rights.group_id != export.group_id:
        return False
    return all(
        _fullness(rights.export(name)) >= _fullness(right) for name, right in export.rights.items()
    )


def is_own_failure(user: User, export: ExportFile) -> bool:
    """Whether `export` is `user`'s own request that failed: its requester is told why (their
    rights changed, say) even when they may no longer see the entry itself. A failed entry
    holds no file, and its title and choices are the requester's own: nothing is revealed."""
    return export.requested_by_id == user.pk and export.status == Status.FAILED


def _candidates(rights: Rights, project: Project, user: User) -> QuerySet[ExportFile]:
    exports = ExportFile.objects.filter(project=project).select_related("requested_by")
    if rights.group_id is not None:
        own_failures = Q(requested_by=user, status=Status.FAILED)
        exports = exports.filter(Q(group_id=rights.group_id) | own_failures)
    return exports


def _listed(rights: Rights, project: Project, user: User, export: ExportFile) -> bool:
    return may_see(rights, project, export) or is_own_failure(user, export)


def exports_visible_to(user: User, project: Project) -> list[ExportFile]:
    """The newest LISTED entries of the archive `user` may see, and their own failed ones,
    newest first."""
    rights = member_rights(user, project)
    listed = []
    for export in _candidates(rights, project, user).iterator(chunk_size=500):
        if _listed(rights, project, user, export):
            listed.append(export)
            if len(listed) == LISTED:
                break
    return listed


def access_export(user: User, project: Project, export_id: int) -> ExportFile:
    """The entry if `user` may see it, else NotFound: another site's, a fuller one and a
    missing one look the same."""
    rights = member_rights(user, project)
    export = _candidates(rights, project, user).filter(pk=export_id).first()
    if export is None or not may_see(rights, project, export):
        raise NotFound(_("No such export."))
    return export


def exports_by_id(user: User, project: Project, ids: list[int]) -> list[ExportFile]:
    """The entries among `ids` that `user` may see, and their own failed ones (for the
    progress poll: a requester's entry that failed because their rights changed)."""
    rights = member_rights(user, project)
    exports = _candidates(rights, project, user).filter(pk__in=ids[:LISTED])
    return [export for export in exports if _listed(rights, project, user, export)]


def progress_of(export: ExportFile) -> int:
    """Percent done: 100 when finished; below 100 while running, however wrong the estimate."""
    if export.status == Status.DONE:
        return 100
    if not export.rows_expected:
        return 0
    return min(99, export.rows_written * 100 // export.rows_expected)


# Downloads and expiry


def is_downloadable(export: ExportFile, now: datetime | None = None) -> bool:
    return export.status == Status.DONE and export.expires_at > (now or timezone.now())


def export_download_open(*, context: AuditContext, export: ExportFile) -> File[bytes]:
    """The stored file, opened for reading (the caller closes it); audited "export.download".
    NotFound once it expired."""
    if not is_downloadable(export):
        raise NotFound(_("This export has expired or is not ready."))
    stored = default_storage.open(export.key, "rb")
    with transaction.atomic():
        audit_event_create(
            context=context,
            project_id=export.project_id,
            action="export.download",
            target=AuditTarget(group_id=export.group_id),
            changes={"export": export.pk, "sha256": export.sha256},
            details=f"export {export.pk}; {export.filename}; {export.size} bytes",
        )
    return stored


def exports_expire(now: datetime | None = None) -> int:
    """Delete the files of exports past their day and mark them expired; also mark as failed
    the exports a dead worker left queued or running for longer than a job may take.
    Returns how many files were deleted. Idempotent."""
    now = now or timezone.now()
    stuck = now - timedelta(seconds=settings.OPENCRF_WORKER_JOB_MAX_SECONDS)
    ExportFile.objects.filter(
        status__in=[Status.QUEUED, Status.RUNNING], created_at__lt=stuck
    ).update(status=Status.FAILED, error=_("The export did not finish in time."), finished_at=now)
    deleted = 0
    for export in ExportFile.objects.filter(status=Status.DONE, expires_at__lte=now):
        _expire(export)
        default_storage.delete(export.key)  # after the commit: a rollback keeps the file
        deleted += 1
    return deleted


@transaction.atomic
def _expire(export: ExportFile) -> None:
    audit_event_create(
        context=AuditContext.system(),
        project_id=export.project_id,
        action="export.expire",
        target=AuditTarget(group_id=export.group_id),
        changes={"export": export.pk},
        details=f"export {export.pk}; {export.filename}",
    )
    ExportFile.objects.filter(pk=export.pk).update(status=Status.EXPIRED, key="")
