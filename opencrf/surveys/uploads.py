"""A participant's files: what they upload to the file fields of a survey page.

A file field's value comes only from an upload sent with the page's own POST, never from a
file id in the POST (which is ignored): so one token can never point its record at another
participant's file. Each upload is checked exactly as data entry's (`files.services.
file_store`: the type by content, the size limit, the virus scanner) and stored against the
response's own record, event and instance, audited as the participant. A field with the
`signature` validation takes the drawn PNG of the signature pad and is refused unless it is a
real, non-blank image (the e-consent page's check). Public pages never serve these files
back: the participant sees the name and size of their own file, and staff download it from
the record (docs/subsystems/surveys.md, "File upload fields").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile

from opencrf.audit.services import AuditContext, AuditTarget
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.rendering import field_view
from opencrf.files.checks import FileRefused
from opencrf.files.models import StoredFile
from opencrf.files.selectors import files_in_project
from opencrf.files.services import Upload, file_delete, file_store
from opencrf.records.auditing import record_target
from opencrf.records.errors import ValueProblem
from opencrf.surveys.econsent import ConsentIncomplete, signature_check
from opencrf.surveys.models import SurveyResponse

# The audit trail's reason for files uploaded with a page whose save was then refused.
DISCARD_REASON = "The survey page was not saved."
SIGNATURE = "signature"


@dataclass
class PageUploads:
    """The files stored for one page's POST, and the file fields the participant cleared."""

    stored: dict[str, StoredFile] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def values(self) -> dict[str, str]:
        """The file fields' new values: a stored file's id, or blank for a removed file."""
        cleared = {name: "" for name in self.removed if name not in self.stored}
        return {**cleared, **{name: str(stored.pk) for name, stored in self.stored.items()}}


class UploadRefused(Exception):
    """An upload was refused; `problem` names the field and why. Nothing was kept."""

    def __init__(self, problem: ValueProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def file_fields(rows: Sequence[FieldRow]) -> list[str]:
    """The page's file fields a participant may change (not @READONLY or computed)."""
    return [
        row.field_name for row in rows if row.field_type == "file" and not field_view(row).readonly
    ]


def _is_signature(row: FieldRow) -> bool:
    return row.text_validation_type_or_show_slider_number.strip() == SIGNATURE


def _target(response: SurveyResponse) -> AuditTarget | None:
    """The record's form instance; a public respondent's record is made on the page's save,
    so their first files belong to no record (as a new record's do in data entry)."""
    if response.record is None:
        return None
    return record_target(
        response.record, response.event, response.survey.form_name, response.instance
    )


def _store_one(
    response: SurveyResponse,
    row: FieldRow,
    upload: Any,
    context: AuditContext,
    target: AuditTarget | None,
) -> StoredFile:
    checked: Upload = upload
    if _is_signature(row):
        try:
            checked = ContentFile(signature_check(upload), name="signature.png")
        except ConsentIncomplete as refused:
            raise FileRefused(" ".join(refused.problems.values())) from None
    return file_store(context=context, project=response.project, upload=checked, target=target)


def uploads_store(
    response: SurveyResponse,
    rows: Sequence[FieldRow],
    *,
    files: Mapping[str, Any],
    post: Mapping[str, str],
    context: AuditContext,
) -> PageUploads:
    """Store the files uploaded to the page's file fields, in order, and note the fields
    whose "Remove file" box is ticked. On the first refusal, every file stored for this POST
    is marked deleted and UploadRefused names the field; nothing else is read from the POST."""
    names = set(file_fields(rows))
    target = _target(response)
    found = PageUploads()
    for row in rows:
        if row.field_name not in names:
            continue
        upload = files.get(row.field_name)
        if upload is None:
            if post.get(f"{row.field_name}__remove"):
                found.removed.append(row.field_name)
            continue
        try:
            found.stored[row.field_name] = _store_one(response, row, upload, context, target)
        except FileRefused as refused:
            uploads_discard(context, found.stored.values())
            problem = ValueProblem(row.field_name, "", "file_refused", refused.message)
            raise UploadRefused(problem) from None
    return found


def uploads_discard(context: AuditContext, stored: Iterable[StoredFile]) -> None:
    """Mark deleted the files of a page whose save was refused (audited, as data entry does)."""
    for stored_file in stored:
        file_delete(context=context, stored_file=stored_file, reason=DISCARD_REASON)


def shown_files(
    response: SurveyResponse, rows: Sequence[FieldRow], values: Mapping[str, str]
) -> dict[str, StoredFile]:
    """The live files the page's file fields hold, by field: shown by name and size only."""
    ids = {
        row.field_name: int(values[row.field_name])
        for row in rows
        if row.field_type == "file"
        and values.get(row.field_name, "").isascii()
        and values.get(row.field_name, "").isdigit()
    }
    if not ids:
        return {}
    found = files_in_project(response.project, ids.values())
    return {name: found[pk] for name, pk in ids.items() if pk in found}
