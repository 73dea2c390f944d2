"""Writes of multi-language forms: languages added and removed, translations uploaded or set.

Every change needs the design right, is audited, and raises the project's design version, so
each process draws forms with the new texts at its next request (`dictionary.design`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput, NotFound, PermissionDenied
from opencrf.dictionary.odm_translations import LanguageSpec
from opencrf.dictionary.translation_models import ProjectLanguage, Translation
from opencrf.dictionary.translation_selectors import project_items
from opencrf.dictionary.translations import (
    LANGUAGE_CODE,
    MAX_TEXT,
    Key,
    read_translation_file,
    text_hash,
    unknown_item_message,
)
from opencrf.projects.models import Project
from opencrf.projects.selectors import MISSING_RIGHT, member_rights
from opencrf.projects.services import design_changed


def _require_design(context: AuditContext, project: Project) -> None:
    """Refuse before anything is written unless the acting user may change the design."""
    if context.actor is not None and not member_rights(context.actor, project).design:
        raise PermissionDenied(MISSING_RIGHT["design"]())


def _change(context: AuditContext, project: Project, action: str, **details: object) -> None:
    design_changed(project)
    audit_event_create(
        context=context,
        project_id=project.pk,
        action=action,
        changes=dict(details),
    )


def _language(project: Project, code: str) -> ProjectLanguage:
    language = project.languages.filter(code=code).first()
    if language is None:
        raise NotFound(_("The project has no language “%(code)s”.") % {"code": code})
    return language


@transaction.atomic
def language_add(
    *, context: AuditContext, project: Project, code: str, display_name: str
) -> ProjectLanguage:
    """Add a language; the project's first language is the base (the dictionary's own)."""
    _require_design(context, project)
    code, display_name = code.strip(), display_name.strip()
    if not LANGUAGE_CODE.match(code):
        raise InvalidInput(
            _(
                "“%(code)s” is not a language code: use an ISO code such as ja, en or en-US "
                "(letters, then optional parts after hyphens)."
            )
            % {"code": code[:40]}
        )
    if not display_name or len(display_name) > 100:
        raise InvalidInput(_("Give the language a display name of 1 to 100 characters."))
    Project.objects.select_for_update().filter(pk=project.pk).first()
    if project.languages.filter(code__iexact=code).exists():
        raise InvalidInput(_("The project already has the language “%(code)s”.") % {"code": code})
    existing = project.languages.count()
    language = ProjectLanguage.objects.create(
        project=project,
        code=code,
        display_name=display_name,
        is_base=existing == 0,
        position=existing,
    )
    _change(
        context,
        project,
        "language.create",
        language=[None, code],
        base=[None, language.is_base],
    )
    return language


@transaction.atomic
def language_set_base(*, context: AuditContext, project: Project, code: str) -> None:
    """Say which language the dictionary is written in; its translations are dropped."""
    _require_design(context, project)
    language = _language(project, code)
    if language.is_base:
        return
    old = project.languages.filter(is_base=True).values_list("code", flat=True).first()
    project.languages.update(is_base=False)
    ProjectLanguage.objects.filter(pk=language.pk).update(is_base=True)
    dropped, _kinds = project.translations.filter(language=code).delete()
    _change(context, project, "language.base", base=[old, code], translations_dropped=dropped)


@transaction.atomic
def language_remove(*, context: AuditContext, project: Project, code: str) -> None:
    """Remove a language and its translations; the base goes only when it is the last one."""
    _require_design(context, project)
    language = _language(project, code)
    if language.is_base and project.languages.count() > 1:
        raise InvalidInput(
            _(
                "“%(code)s” is the base language; remove the other languages first, "
                "or make another one the base."
            )
            % {"code": code}
        )
    dropped, _kinds = project.translations.filter(language=code).delete()
    language.delete()
    _change(context, project, "language.delete", language=[code, None], translations=dropped)


def _translated_language(project: Project, code: str) -> ProjectLanguage:
    language = _language(project, code)
    if language.is_base:
        raise InvalidInput(
            _(
                "“%(code)s” is the base language: its texts are the data dictionary's own; "
                "change them in the dictionary or the designer."
            )
            % {"code": code}
        )
    return language


@transaction.atomic
def translations_upload(
    *, context: AuditContext, project: Project, code: str, data: bytes
) -> dict[str, int]:
    """Apply a translation file to one language: all of it, or nothing when a line is wrong.

    A line with a translation sets it; a line with an empty translation removes it; items the
    file leaves out keep theirs. Returns counts of set, removed and out-of-date lines.
    """
    _require_design(context, project)
    _translated_language(project, code)
    lines = read_translation_file(data, project_items(project))
    existing = {(t.kind, t.name, t.index): t for t in project.translations.filter(language=code)}
    wanted = {line.item.key: line for line in lines}
    created, updated, removed = [], [], []
    for key, line in wanted.items():
        current = existing.get(key)
        digest = text_hash(line.item.default) if not line.outdated else ""
        if not line.translation:
            if current is not None:
                removed.append(current.pk)
        elif current is None:
            created.append(_row(project, code, key, line.translation, digest))
        elif (current.text, current.default_hash) != (line.translation, digest):
            current.text, current.default_hash = line.translation, digest
            updated.append(current)
    Translation.objects.bulk_create(created, batch_size=500)
    Translation.objects.bulk_update(updated, ["text", "default_hash"], batch_size=500)
    Translation.objects.filter(pk__in=removed).delete()
    counts = {
        "set": len(created) + len(updated),
        "removed": len(removed),
        "outdated": sum(line.outdated and bool(line.translation) for line in lines),
    }
    _change(context, project, "translation.upload", language=code, **counts)
    return counts


def _row(project: Project, code: str, key: Key, text: str, digest: str) -> Translation:
    kind, name, index = key
    return Translation(
        project=project,
        language=code,
        kind=kind,
        name=name,
        index=index,
        text=text,
        default_hash=digest,
    )


@transaction.atomic
def translations_set(
    *, context: AuditContext, project: Project, code: str, texts: Mapping[Key, str]
) -> int:
    """Set (or, with an empty text, remove) some translations of one language, as the designer
    does for one field. Keys the design does not have are refused. Returns how many changed."""
    _require_design(context, project)
    _translated_language(project, code)
    items = {item.key: item for item in project_items(project)}
    unknown = [key for key in texts if key not in items]
    if unknown:
        raise InvalidInput(
            _("The design has no text %(key)s to translate.") % {"key": " / ".join(unknown[0])}
        )
    too_long = [key for key, text in texts.items() if len(text) > MAX_TEXT]
    if too_long:
        raise InvalidInput(
            _("The translation is longer than %(limit)d characters.") % {"limit": MAX_TEXT}
        )
    changed = 0
    for key, text in texts.items():
        kind, name, index = key
        text = text.strip()
        rows = project.translations.filter(language=code, kind=kind, name=name, index=index)
        if not text:
            changed += rows.delete()[0]
            continue
        digest = text_hash(items[key].default)
        changed += rows.exclude(text=text, default_hash=digest).update(
            text=text, default_hash=digest
        )
        if not rows.exists():
            _row(project, code, key, text, digest).save()
            changed += 1
    if changed:
        _change(context, project, "translation.update", language=code, texts=changed)
    return changed


@transaction.atomic
def translations_copy(*, context: AuditContext, source: Project, project: Project) -> int:
    """Give `project` (a copy of `source`) the source's languages and every translation whose
    text the copy has (survey texts only when its surveys were copied). Returns how many."""
    _require_design(context, project)
    languages = list(source.languages.all())
    if not languages:
        return 0
    ProjectLanguage.objects.bulk_create(
        ProjectLanguage(
            project=project,
            code=language.code,
            display_name=language.display_name,
            is_base=language.is_base,
            position=language.position,
        )
        for language in languages
    )
    keys = {item.key for item in project_items(project)}
    copied = [
        Translation(
            project=project,
            language=t.language,
            kind=t.kind,
            name=t.name,
            index=t.index,
            text=t.text,
            default_hash=t.default_hash,
        )
        for t in source.translations.all()
        if (t.kind, t.name, t.index) in keys
    ]
    Translation.objects.bulk_create(copied, batch_size=500)
    _change(
        context,
        project,
        "translation.copy",
        languages=[language.code for language in languages],
        translations=len(copied),
    )
    return len(copied)


@transaction.atomic
def translations_import(
    *, context: AuditContext, project: Project, languages: Sequence[LanguageSpec]
) -> int:
    """Give a project just created from Project XML the file's languages and translations
    (`odm_translations` read and checked their shape). A translation of a text the design does
    not have refuses the whole import, naming the language and the text. Returns how many."""
    if not languages:
        return 0
    _require_design(context, project)
    if project.languages.exists():
        raise InvalidInput(_("Project XML: the project has languages already."))
    items = {item.key: item for item in project_items(project)}
    for language in languages:
        for translation in language.translations:
            if translation.key not in items:
                raise InvalidInput(
                    _("Project XML: opencrf:Language “%(code)s”: %(problem)s")
                    % {
                        "code": language.code,
                        "problem": unknown_item_message(translation.key, items),
                    }
                )
    ProjectLanguage.objects.bulk_create(
        ProjectLanguage(
            project=project,
            code=language.code,
            display_name=language.display_name,
            is_base=language.is_base,
            position=position,
        )
        for position, language in enumerate(languages)
    )
    rows = [
        _row(
            project,
            language.code,
            translation.key,
            translation.text,
            text_hash(items[translation.key].default)
            if translation.hash is None
            else translation.hash,
        )
        for language in languages
        for translation in language.translations
    ]
    Translation.objects.bulk_create(rows, batch_size=500)
    _change(
        context,
        project,
        "translation.import",
        languages=[language.code for language in languages],
        translations=len(rows),
    )
    return len(rows)
