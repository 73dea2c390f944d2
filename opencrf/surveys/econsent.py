"""E-consent (REDCap's e-Consent Framework): the last page of a consent survey.

The participant sees the whole response as a PDF snapshot (and the same as HTML), types their
name, draws a signature and certifies that the information is correct. On confirmation:

1. the signature PNG is stored (checked by content, then decoded: a real, non-blank image);
2. the PDF of the response, with the consent version, the time of signing, the name and the
   signature, is stored with its SHA-256;
3. in one transaction: the name and signature fields are saved into the record's form
   (`records.services.form_save`, as the participant), the PDF is filed in the project's file
   repository (folder "e-Consent", limited to the record's data access group), a `Consent` row
   is made and audited ("survey.consent"), and the response is completed.

A refusal at any step stores nothing: files stored before the refusal are marked deleted.
Staff reach consents through `record_consents` and `access_consent_pdf`, after
`records.selectors.access_record` (another site's record looks missing).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO
from xml.sax.saxutils import escape

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, Spacer, Table, TableStyle

from opencrf.accounts.models import User
from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, NotFound
from opencrf.dictionary.choices import checkbox_column, parse_choices
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.design import design_of
from opencrf.files.checks import PNG
from opencrf.files.models import RepositoryDocument, RepositoryFolder, StoredFile
from opencrf.files.repository import folder_target
from opencrf.files.selectors import files_in_project, open_stored_file
from opencrf.files.services import file_delete, file_store
from opencrf.projects.models import Project
from opencrf.projects.selectors import member_rights
from opencrf.records import services as record_services
from opencrf.records.auditing import record_target
from opencrf.records.export import BOOLEAN_LABELS
from opencrf.records.pdf import BODY, HEADING, SMALL, FormPage, forms_pdf
from opencrf.records.selectors import access_record, form_data
from opencrf.surveys.models import Consent, Survey, SurveyResponse
from opencrf.surveys.respond import RESPONDENT_REASON, response_complete, response_language
from opencrf.surveys.selectors import response_by_token

SIGNATURE_MAX_BYTES = 1024 * 1024
SIGNATURE_MAX_SIDE = 4000
INK_LEVEL = 160  # grey levels below this are ink (0 black, 255 white)
NAME_MAX_LENGTH = 300
FOLDER_NAME = "e-Consent"
DISCARD_REASON = "The e-consent was not completed."
CERTIFY_TEXT = gettext_noop(
    "I certify that all of the information in the document above is correct."
)


class ConsentIncomplete(InvalidInput):
    """The confirmation lacks the name, the signature or the certification; `problems` maps
    each missing part ("name", "signature", "certify") to its message."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(" ".join(problems.values()))
        self.problems = problems


@dataclass(frozen=True)
class Answer:
    """One row of the response as the consent page shows it (text, escaped by the template)."""

    label: str
    text: str
    section: str = ""
    descriptive: bool = False


@dataclass(frozen=True)
class ConsentSnapshot:
    """What the participant is asked to confirm."""

    response: SurveyResponse
    title: str
    rows: list[FieldRow]
    values: dict[str, str]
    version: int  # the form's version, so a confirmation never covers a later change
    name: str
    has_signature: bool
    answers: list[Answer] = field(default_factory=list)


# ---------------------------------------------------------------- participant side


def consent_response(token: str) -> SurveyResponse:
    """The response of a consent link awaiting confirmation; anything else is not found.

    The token names exactly one response: its record, event and instance. A survey without
    e-consent, a response whose record does not exist yet and a completed response all look
    like a wrong link. InvalidInput when the survey's name or signature field is not right."""
    response = response_by_token(token)
    survey = response.survey
    if (
        not survey.econsent
        or response.record is None
        or response.status == SurveyResponse.Status.COMPLETED
        or not survey.active
    ):
        raise NotFound(_("This survey link is not valid."))
    consent_fields(survey)
    return response


def consent_fields(survey: Survey) -> tuple[FieldRow | None, FieldRow | None]:
    """The survey's name field and signature field (None when the survey names none: the name
    and signature are then kept in the consent and its PDF only); InvalidInput when a named
    field is not a text field, or not a file field, of the survey's instrument."""
    rows = {row.field_name: row for row in design_of(survey.project).form_rows(survey.form_name)}
    name = rows.get(survey.econsent_name_field) if survey.econsent_name_field else None
    signature = (
        rows.get(survey.econsent_signature_field) if survey.econsent_signature_field else None
    )
    if survey.econsent_name_field and (name is None or name.field_type != "text"):
        raise InvalidInput(_("The e-consent's name field is not a text field of this survey."))
    if survey.econsent_signature_field and (signature is None or signature.field_type != "file"):
        raise InvalidInput(_("The e-consent's signature field is not a file field of this survey."))
    return name, signature


def consent_snapshot(response: SurveyResponse) -> ConsentSnapshot:
    """The response as stored now, for the consent page and its PDF."""
    survey = response.survey
    assert response.record is not None
    name_row, signature_row = consent_fields(survey)
    design = design_of(survey.project)
    rows = design.form_rows(survey.form_name)
    form = form_data(response.record, response.event, survey.form_name, response.instance)
    values = dict(form.values) if form is not None else {}
    return ConsentSnapshot(
        response=response,
        title=survey.title,
        rows=rows,
        values=values,
        version=form.version if form is not None else 0,
        name=values.get(name_row.field_name, "") if name_row is not None else "",
        has_signature=signature_row is not None and bool(values.get(signature_row.field_name)),
        answers=answers(rows, values, _asked_on_the_page(survey, design.record_id_field)),
    )


def _asked_on_the_page(survey: Survey, record_id_field: str) -> frozenset[str]:
    """Fields the consent page does not list as answers: the record id, and the name and
    signature it asks for itself."""
    return frozenset({record_id_field, survey.econsent_name_field, survey.econsent_signature_field})


def answers(
    rows: Sequence[FieldRow], values: dict[str, str], skip: frozenset[str] = frozenset()
) -> list[Answer]:
    """Each field's label and its answer as text (choice labels, not codes), but `skip`."""
    shown = []
    for row in rows:
        if row.field_name in skip:
            continue
        shown.append(
            Answer(
                label=row.field_label,
                text="" if row.field_type == "descriptive" else _answer_text(row, values),
                section=row.section_header,
                descriptive=row.field_type == "descriptive",
            )
        )
    return shown


def _answer_text(row: FieldRow, values: dict[str, str]) -> str:
    value = values.get(row.field_name, "")
    if row.field_type == "checkbox":
        choices = parse_choices(row.select_choices_or_calculations)
        column = row.field_name
        return ", ".join(
            c.label for c in choices if values.get(checkbox_column(column, c.code)) == "1"
        )
    if row.field_type in {"radio", "dropdown"}:
        labels = {c.code: c.label for c in parse_choices(row.select_choices_or_calculations)}
        return labels.get(value, value)
    if row.field_type in BOOLEAN_LABELS:
        label = BOOLEAN_LABELS[row.field_type].get(value)
        return _(label) if label else value
    if row.field_type == "file":
        return _("(file attached)") if value else ""
    return value


def consent_pdf(
    snapshot: ConsentSnapshot,
    *,
    name: str,
    signed_at: datetime | None,
    signature_png: bytes | None,
    values: dict[str, str] | None = None,
    language: str = "",
) -> bytes:
    """The PDF of the response with the consent block: version, date and time, name and the
    signature (a preview before signing says "not yet signed"). Its fixed texts (yes and no,
    the consent block) are in `language`, else the response's (the participant's choice,
    else the survey's), whatever the language of the request."""
    with translation.override(language or response_language(snapshot.response)):
        return _consent_pdf(
            snapshot, name=name, signed_at=signed_at, signature_png=signature_png, values=values
        )


def _consent_pdf(
    snapshot: ConsentSnapshot,
    *,
    name: str,
    signed_at: datetime | None,
    signature_png: bytes | None,
    values: dict[str, str] | None,
) -> bytes:
    response = snapshot.response
    survey = response.survey
    assert response.record is not None
    caption = " · ".join(
        part
        for part in (
            _("Record %(record)s") % {"record": response.record.record_id},
            response.event.name if survey.project.is_longitudinal else "",
            _("Consent form version %(version)s") % {"version": survey.econsent_version or "-"},
        )
        if part
    )
    record_id_field = design_of(survey.project).record_id_field
    shown = values if values is not None else snapshot.values
    page = FormPage(
        title=snapshot.title,
        rows=snapshot.rows,
        values={**shown, record_id_field: response.record.record_id},
        caption=caption,
    )
    names = {survey.econsent_signature_field: "signature.png"} if signature_png else {}
    block = _consent_block(survey, name=name, signed_at=signed_at, signature_png=signature_png)
    return forms_pdf(survey.project.title, [page], names, appendix=block)


def _p(text: str, style: object = BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _consent_block(
    survey: Survey, *, name: str, signed_at: datetime | None, signature_png: bytes | None
) -> list[object]:
    when = (
        timezone.localtime(signed_at).strftime("%Y-%m-%d %H:%M:%S %Z")
        if signed_at is not None
        else _("Not yet signed")
    )
    signature: object = _p("")
    if signature_png:
        image = PILImage.open(io.BytesIO(signature_png))
        width, height = image.size
        scale = min(70 * mm / width, 25 * mm / height)
        signature = Image(io.BytesIO(signature_png), width=width * scale, height=height * scale)
    rows = [
        [_p(_("Consent form version")), _p(survey.econsent_version or "-")],
        [_p(_("Participant's name")), _p(name)],
        [_p(_("Signature")), signature],
        [_p(_("Signed at")), _p(when)],
    ]
    table = Table(rows, colWidths=[55 * mm, 120 * mm])
    table.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOX", (0, 0), (-1, -1), 0.5, "black")])
    )
    return [
        Spacer(1, 6 * mm),
        _p(_("Electronic consent"), HEADING),
        _p(_(CERTIFY_TEXT), SMALL),
        Spacer(1, 2 * mm),
        table,
    ]


def signature_check(upload: IO[bytes] | None) -> bytes:
    """The drawn signature's PNG bytes, refused unless it is a real, non-blank PNG image."""
    refused = ConsentIncomplete({"signature": _("Please sign in the box.")})
    if upload is None:
        raise refused
    data = upload.read(SIGNATURE_MAX_BYTES + 1)
    if len(data) > SIGNATURE_MAX_BYTES or not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ConsentIncomplete({"signature": _("The signature must be a PNG image.")})
    try:
        image = PILImage.open(io.BytesIO(data))
        if image.format != "PNG" or max(image.size) > SIGNATURE_MAX_SIDE:
            raise ConsentIncomplete({"signature": _("The signature must be a PNG image.")})
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, PILImage.DecompressionBombError):
        raise ConsentIncomplete({"signature": _("The signature must be a PNG image.")}) from None
    flat = PILImage.new("RGB", image.size, "white")
    flat.paste(image.convert("RGBA"), mask=image.convert("RGBA"))
    # Ink is whatever is darker than the pad's light guide line; no ink is no signature.
    if flat.convert("L").point(lambda level: 255 if level < INK_LEVEL else 0).getbbox() is None:
        raise refused
    return data


def _checked_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ConsentIncomplete({"name": _("Please type your full name.")})
    if len(name) > NAME_MAX_LENGTH:
        raise ConsentIncomplete({"name": _("A name has at most 300 characters.")})
    return name


@dataclass(frozen=True)
class Signing:
    """What the participant submitted on the consent page."""

    name: str
    signature: IO[bytes] | None  # the drawn PNG; None keeps a signature saved in the survey
    certified: bool
    version: int  # the form version the participant saw
    language: str = ""  # the language of the page they read ("": the response's)


def signing_check(snapshot: ConsentSnapshot, signing: Signing) -> tuple[str, bytes]:
    """The cleaned name and the signature's PNG; ConsentIncomplete naming every missing part."""
    problems: dict[str, str] = {}
    name, png = "", b""
    try:
        name = _checked_name(signing.name)
    except ConsentIncomplete as error:
        problems.update(error.problems)
    try:
        png = _signature_of(snapshot, signing.signature)
    except ConsentIncomplete as error:
        problems.update(error.problems)
    if not signing.certified:
        problems["certify"] = _("Please tick the box to certify that the information is correct.")
    if problems:
        raise ConsentIncomplete(problems)
    return name, png


def _signature_of(snapshot: ConsentSnapshot, upload: IO[bytes] | None) -> bytes:
    if upload is None and snapshot.has_signature:
        saved = stored_signature(snapshot)
        if saved is not None:
            return saved
    return signature_check(upload)


def consent_sign(
    *,
    response: SurveyResponse,
    context: AuditContext,
    signing: Signing,
    now: datetime | None = None,
) -> Consent:
    """Sign the consent: store the signature and the PDF, save, file, record and complete.

    A form changed since the participant saw it is refused (records' conflict check).
    Raises ConsentIncomplete, InvalidInput or FileRefused, and then nothing is kept."""
    survey, record = response.survey, response.record
    assert record is not None
    name_row, signature_row = consent_fields(survey)
    snapshot = consent_snapshot(response)
    name, png = signing_check(snapshot, signing)
    signed_at = now or timezone.now()
    target = record_target(record, response.event, survey.form_name, response.instance)
    values = {name_row.field_name: name} if name_row is not None else {}
    stored: list[StoredFile] = []
    try:
        if signing.signature is not None:
            drawn = file_store(
                context=context,
                project=survey.project,
                upload=ContentFile(png, name="signature.png"),
                target=target,
            )
            stored.append(drawn)
            if signature_row is not None:
                values[signature_row.field_name] = str(drawn.pk)
        shown = {**snapshot.values, **values}
        pdf_bytes = consent_pdf(
            snapshot,
            name=name,
            signed_at=signed_at,
            signature_png=png,
            values=shown,
            language=signing.language,
        )
        pdf = file_store(
            context=context,
            project=survey.project,
            upload=ContentFile(pdf_bytes, name=_pdf_name(response, signed_at)),
            target=target,
        )
        stored.append(pdf)
        return _record_consent(
            response=response,
            context=context,
            values=values,
            version=signing.version,
            pdf=pdf,
            name=name,
            signed_at=signed_at,
        )
    except BaseException:
        for stored_file in stored:
            file_delete(context=context, stored_file=stored_file, reason=DISCARD_REASON)
        raise


def _pdf_name(response: SurveyResponse, signed_at: datetime) -> str:
    assert response.record is not None
    stamp = timezone.localtime(signed_at).strftime("%Y%m%d%H%M%S")
    return f"econsent_{response.record.record_id}_{response.survey.form_name}_{stamp}.pdf"


@transaction.atomic
def _record_consent(
    *,
    response: SurveyResponse,
    context: AuditContext,
    values: dict[str, str],
    version: int,
    pdf: StoredFile,
    name: str,
    signed_at: datetime,
) -> Consent:
    locked = SurveyResponse.objects.select_for_update().get(pk=response.pk)
    if locked.status == SurveyResponse.Status.COMPLETED:
        raise InvalidInput(_("This consent has already been signed."))
    survey, record = response.survey, response.record
    assert record is not None
    record_services.form_save(
        context=context,
        record=record,
        event=response.event,
        form_name=survey.form_name,
        instance=response.instance,
        values=values,
        base_version=version,
        reason=RESPONDENT_REASON,
    )
    folder = _consent_folder(survey.project, record.group_id)
    if folder is not None:
        RepositoryDocument.objects.create(project=survey.project, folder=folder, stored_file=pdf)
    consent = Consent.objects.create(
        project=survey.project,
        record=record,
        response=response,
        event=response.event,
        instance=response.instance,
        form_name=survey.form_name,
        version=survey.econsent_version,
        name=name,
        pdf=pdf,
        sha256=pdf.sha256,
        signed_at=signed_at,
    )
    audit_event_create(
        context=context,
        project_id=survey.project_id,
        action="survey.consent",
        target=record_target(record, response.event, survey.form_name, response.instance),
        details=f"E-consent signed (version {survey.econsent_version or '-'})",
        changes={
            "consent_id": consent.pk,
            "file_id": pdf.pk,
            "sha256": pdf.sha256,
            "version": survey.econsent_version,
            "folder_id": folder.pk if folder is not None else "",
        },
    )
    _complete(response, context)
    return consent


def _consent_folder(project: Project, group_id: int | None) -> RepositoryFolder | None:
    """The repository folder for consents of the group's records, made on first use.

    A folder limited to a group is seen only in that group. A folder without a group is seen
    by every member, so a record outside any group is filed there only in a project without
    groups (else its PDF stays with the record and its consent list only)."""
    if group_id is None and project.groups.exists():
        return None
    folder = RepositoryFolder.objects.filter(
        project=project, parent=None, name=FOLDER_NAME, group_id=group_id, role=None
    ).first()
    if folder is None:
        folder = RepositoryFolder.objects.create(
            project=project, name=FOLDER_NAME, group_id=group_id
        )
        audit_event_create(
            context=AuditContext.system(),
            project_id=project.pk,
            action="repository.folder",
            target=folder_target(folder),
            details=f"Create folder: {FOLDER_NAME}",
            changes={"folder_id": folder.pk, "parent_id": ""},
        )
    return folder


def _complete(response: SurveyResponse, context: AuditContext) -> None:
    response_complete(response, context=context)


# ---------------------------------------------------------------- staff side


def record_consents(user: User, project: Project, record_id: str) -> list[Consent]:
    """The record's signed consents, oldest first; RecordNotFound if the user may not see it."""
    record = access_record(user, project, record_id)
    consents = Consent.objects.filter(project=project, record=record).select_related("pdf", "event")
    return [c for c in consents if _may_see_form(user, project, c.form_name)]


def access_consent_pdf(user: User, project: Project, record_id: str, consent_id: int) -> StoredFile:
    """The PDF of one consent of a record the user may see (and whose form they may see)."""
    for consent in record_consents(user, project, record_id):
        if consent.pk == consent_id and consent.pdf.deleted_at is None:
            return consent.pdf
    raise NotFound(_("No such file."))


def _may_see_form(user: User, project: Project, form_name: str) -> bool:
    if user.is_superuser:
        return True
    try:
        return member_rights(user, project).can_see_form(form_name)
    except NotFound:
        return False


def stored_signature(snapshot: ConsentSnapshot) -> bytes | None:
    """The PNG of the signature already saved in the response, if any."""
    survey = snapshot.response.survey
    value = snapshot.values.get(survey.econsent_signature_field, "")
    if not (value.isascii() and value.isdigit()):
        return None
    found = files_in_project(survey.project, [int(value)]).get(int(value))
    if found is None or found.media_type != PNG:
        return None
    with open_stored_file(found) as handle:
        data: bytes = handle.read(SIGNATURE_MAX_BYTES)
    return data
