"""Write an export file: one entry point for every format, audited as `data.export`.

`export_write` decides nothing about access itself: `table.export_table` reads through the
records selectors and the exporter's rights, and every format writes from that table (the
ODM export from `records.project_xml`, which reads through the same selectors).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, cast

from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext, AuditTarget, audit_event_create
from opencrf.core.errors import InvalidInput
from opencrf.exports.table import ExportRequest, ExportTable, export_table
from opencrf.exports.writers.rscript import write_r
from opencrf.exports.writers.stats import sas_formats, write_native
from opencrf.exports.writers.text import write_csv
from opencrf.exports.writers.tidy import write_tidy
from opencrf.exports.writers.xlsx import write_xlsx
from opencrf.projects.models import Project
from opencrf.records.export_copy import CopiedCsv
from opencrf.records.selectors import records_visible_to


@dataclass(frozen=True)
class ExportResult:
    """What was written: rows, the file's suggested name, the de-identification applied and
    the variables renamed to fit the format (export name → name in the file)."""

    rows: int
    filename: str
    deidentified: tuple[str, ...]
    renamed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Format:
    extension: str
    media_type: str
    labels: bool = False  # the table's cells hold labels


FORMATS = {
    "csv": Format("csv", "text/csv"),
    "csv-labels": Format("csv", "text/csv", labels=True),
    "xlsx": Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "spss": Format("sav", "application/x-spss-sav"),
    "stata": Format("dta", "application/x-stata-dta"),
    "sas": Format("zip", "application/zip"),
    "r": Format("zip", "application/zip"),
    "tidy": Format("zip", "application/zip"),
    "odm": Format("xml", "application/xml"),
}


def export_write(
    *,
    context: AuditContext,
    project: Project,
    format: str,
    request: ExportRequest,
    out: BinaryIO,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write the export `context.actor` may make of `project` in `format` to `out`;
    `progress`, if given, hears the rows read so far every PROGRESS_EVERY rows and at the end."""
    if format not in FORMATS:
        raise InvalidInput(_("Unknown export format %(format)s.") % {"format": format})
    user = context.actor
    assert user is not None
    if format == "odm":
        result = _odm(user, project, request, out)
    else:
        table = export_table(user, project, _with_labels(request, FORMATS[format].labels))
        if progress is not None:
            table = _counted(table, progress)
        rows, renamed = WRITERS[format](table, out)
        result = ExportResult(rows, _filename(project, format), _applied(table), renamed)
    with transaction.atomic():  # the entry is the change: its own transaction
        audit_event_create(
            context=context,
            project_id=project.pk,
            action="data.export",
            target=AuditTarget(extra={"format": format, "rows": result.rows}),
            details=_details(format, result),
        )
    return result


PROGRESS_EVERY = 1000


def _counted(table: ExportTable, progress: Callable[[int], None]) -> ExportTable:
    cells = table._cells

    def counted() -> Iterator[list[Any]]:
        count = 0
        for count, row in enumerate(cells(), 1):
            if count % PROGRESS_EVERY == 0:
                progress(count)
            yield row
        progress(count)

    copy = table._copy

    def copied() -> CopiedCsv | None:  # PostgreSQL's COPY path tells the same marks
        found = copy()
        if found is not None:
            found.on_rows(progress, PROGRESS_EVERY)
        return found

    return replace(table, _cells=counted, _copy=copied)


def _with_labels(request: ExportRequest, labels: bool) -> ExportRequest:
    return replace(request, labels=labels)


def _applied(table: ExportTable) -> tuple[str, ...]:
    options = table.deidentify
    return tuple(name for name in options.names() if getattr(options, name))


def _filename(project: Project, format: str) -> str:
    return f"project_{project.pk}_{format}.{FORMATS[format].extension}"


def _details(format: str, result: ExportResult) -> str:
    applied = ", ".join(result.deidentified) or "none"
    return f"format {format}; {result.rows} rows; de-identification: {applied}"


Writer = Callable[[ExportTable, BinaryIO], tuple[int, dict[str, str]]]


def _csv(table: ExportTable, out: BinaryIO) -> tuple[int, dict[str, str]]:
    return write_csv(table, out), {}


def _csv_labels(table: ExportTable, out: BinaryIO) -> tuple[int, dict[str, str]]:
    return write_csv(table, out, label_header=True), {}


def _xlsx(table: ExportTable, out: BinaryIO) -> tuple[int, dict[str, str]]:
    return write_xlsx(table, out), {}


def _statistics(kind: str) -> Writer:
    """SPSS and Stata: our own writers, straight to `out` (front to back, no seeking)."""

    def write(table: ExportTable, out: BinaryIO) -> tuple[int, dict[str, str]]:
        written = write_native(table, out, kind)
        return written.rows, written.renamed

    return write


def _sas(table: ExportTable, out: BinaryIO) -> tuple[int, dict[str, str]]:
    """A zip of the transport file, written straight into it (`xpt`: memory stays flat), and
    the PROC FORMAT program with its value labels."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("data.xpt", "w", force_zip64=True) as data:
            written = write_native(table, cast(BinaryIO, data), "sas")
        archive.writestr("formats.sas", sas_formats(written, table))
    return written.rows, written.renamed


def _r(table: ExportTable, out: BinaryIO) -> tuple[int, dict[str, str]]:
    return write_r(table, out), {}


def _tidy(table: ExportTable, out: BinaryIO) -> tuple[int, dict[str, str]]:
    return write_tidy(table, out), {}


WRITERS: dict[str, Writer] = {
    "csv": _csv,
    "csv-labels": _csv_labels,
    "xlsx": _xlsx,
    "spss": _statistics("spss"),
    "stata": _statistics("stata"),
    "sas": _sas,
    "r": _r,
    "tidy": _tidy,
}


def _odm(user: User, project: Project, request: ExportRequest, out: BinaryIO) -> ExportResult:
    """CDISC ODM (REDCap's Project XML with data), from `records.project_xml`, which applies
    the exporter's rights and data access group itself. It writes stored values as they are,
    so an export that must hash ids or shift dates is refused rather than written unchanged."""
    from opencrf.records.project_xml import project_xml_write

    table = export_table(user, project, request)  # the checks, and what must be applied
    odm_check(table, request)
    survey: set[str] = set()
    if request.survey_fields:  # as far as the exporter's rights keep them (as every format)
        survey |= set() if table.deidentify.remove_identifiers else {"identifier"}
        survey |= set() if table.deidentify.remove_dates else {"timestamps"}
    for chunk in project_xml_write(
        project,
        user,
        include_data=True,
        include_files=False,
        record_ids=request.records,
        survey_fields=frozenset(survey),
    ):
        out.write(chunk.encode("utf-8"))
    records = records_visible_to(user, project)
    if request.records:
        records = records.filter(record_id__in=request.records)
    return ExportResult(records.count(), _filename(project, "odm"), _applied(table))


def odm_check(table: ExportTable, request: ExportRequest) -> None:
    """InvalidInput when the ODM export cannot be written as asked (checked before a
    background export is queued, too)."""
    if (
        table.deidentify.hash_record_id
        or table.deidentify.shift_dates
        or table.deidentify.shift_survey_timestamps
    ):
        raise InvalidInput(
            _(
                "The ODM export cannot hash record ids or shift dates; "
                "choose another format for this de-identification."
            )
        )
    if request.fields or request.forms or request.events or request.filter is not None:
        raise InvalidInput(_("The ODM export holds all data; it takes no selection."))
    if request.deidentify.any:
        raise InvalidInput(
            _("The ODM export applies your export rights only; it takes no other option.")
        )
