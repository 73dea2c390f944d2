"""Each form's lock text (an attestation, e.g. the investigator's), in English and Japanese.

The lock panel shows it above the lock and signature buttons, in the reader's language (the
other language when one is blank). A project design setting: changing it needs the design right
and is audited as `form.lock_text`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, AuditTarget, audit_event_create
from opencrf.core.errors import InvalidInput, PermissionDenied
from opencrf.projects.models import Project
from opencrf.projects.selectors import member_rights
from opencrf.records.models import LockText

TEXT_MAX_CHARS = 5000


@dataclass(frozen=True, slots=True)
class FormLockText:
    form_name: str
    label: str
    text_en: str
    text_ja: str


def lock_texts_of(project: Project) -> list[FormLockText]:
    """Every instrument's lock texts, in the design's order (blank where none is set)."""
    stored = {text.form_name: text for text in LockText.objects.filter(project=project)}
    texts = []
    for instrument in project.instruments.order_by("position", "id"):
        text = stored.get(instrument.name)
        texts.append(
            FormLockText(
                instrument.name,
                instrument.label,
                text.text_en if text else "",
                text.text_ja if text else "",
            )
        )
    return texts


def lock_text_for(project: Project, form_name: str, language: str) -> str:
    """The form's lock text in `language` ("ja" or other), or in the other language."""
    text = LockText.objects.filter(project=project, form_name=form_name).first()
    if text is None:
        return ""
    first, second = (
        (text.text_ja, text.text_en) if language.startswith("ja") else (text.text_en, text.text_ja)
    )
    return first or second


@transaction.atomic
def lock_text_save(
    *, context: AuditContext, project: Project, form_name: str, text_en: str, text_ja: str
) -> None:
    if context.actor is not None and not member_rights(context.actor, project).design:
        raise PermissionDenied(_("You do not have the right to change the project's design."))
    if not project.instruments.filter(name=form_name).exists():
        raise InvalidInput(_("No such instrument: %(form)s.") % {"form": form_name})
    text_en, text_ja = text_en.strip(), text_ja.strip()
    if max(len(text_en), len(text_ja)) > TEXT_MAX_CHARS:
        raise InvalidInput(
            _("A lock text may hold at most %(count)s characters.") % {"count": TEXT_MAX_CHARS}
        )
    text, _created = LockText.objects.select_for_update().get_or_create(
        project=project, form_name=form_name
    )
    changes = {}
    if text.text_en != text_en:
        changes["text_en"] = [text.text_en, text_en]
    if text.text_ja != text_ja:
        changes["text_ja"] = [text.text_ja, text_ja]
    if not changes:
        return
    text.text_en, text.text_ja = text_en, text_ja
    text.save()
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="form.lock_text",
        target=AuditTarget(instrument=form_name),
        changes=changes,
    )
