"""Draft mode: how a project's design is edited, in development and in production.

The contract the online designer and the dictionary upload share:

- `design_rows(project)` gives the rows and instrument labels to edit, with a *base token*:
  the open draft's version while a production project has a draft open, else the number of
  the live dictionary revision.
- `design_save(...)` saves edited rows against that token: in development it applies them at
  once (a new revision); in production it writes them into the open draft; otherwise it
  refuses. A token that is no longer current is refused, so no save lands over another.
- `is_editable(project)` says whether `design_save` would accept a save now.

The rest of the draft's life (enter, review, submit, approve, apply, discard) lives in
`draft_services`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, audit_event_create
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.diff import diff_dictionaries
from opencrf.dictionary.models import DictionaryDraft, DraftStatus, RevisionSource
from opencrf.dictionary.selectors import latest_revision_number, project_rows
from opencrf.dictionary.services import DictionaryInvalid, dictionary_apply, dictionary_problems
from opencrf.projects.models import Project, ProjectStatus


def open_draft(project: Project) -> DictionaryDraft | None:
    """The project's draft that designers may edit now, if any."""
    return project.drafts.filter(status=DraftStatus.OPEN).first()


def active_draft(project: Project) -> DictionaryDraft | None:
    """The project's draft that is open or awaiting approval, if any."""
    return project.drafts.filter(status__in=[DraftStatus.OPEN, DraftStatus.SUBMITTED]).first()


def live_instrument_labels(project: Project) -> dict[str, str]:
    return dict(project.instruments.values_list("name", "label"))


def design_rows(project: Project) -> tuple[list[FieldRow], dict[str, str], int]:
    """The rows, instrument labels and base token a designer edits (see the module doc)."""
    draft = open_draft(project) if project.status == ProjectStatus.PRODUCTION else None
    if draft is not None:
        return draft.field_rows(), dict(draft.instrument_labels), draft.version
    return project_rows(project), live_instrument_labels(project), latest_revision_number(project)


def is_editable(project: Project) -> bool:
    """Whether `design_save` accepts a save now: in development, or in a production draft."""
    if project.status == ProjectStatus.DEVELOPMENT:
        return True
    return project.status == ProjectStatus.PRODUCTION and open_draft(project) is not None


def design_save(
    *,
    context: AuditContext,
    project: Project,
    rows: Sequence[FieldRow],
    instrument_labels: Mapping[str, str],
    base: int,
    note: str,
) -> int:
    """Save edited design rows against the base token; return the new base token.

    Raises DictionaryInvalid when the rows break a rule and InvalidInput when the base is
    stale or the project's design cannot be changed now. Nothing changes on a refusal.
    """
    if project.status == ProjectStatus.DEVELOPMENT:
        revision = dictionary_apply(
            context=context,
            project=project,
            rows=rows,
            source=RevisionSource.DESIGNER,
            note=note,
            instrument_labels=instrument_labels,
            expected_revision=base,
        )
        return revision.number
    if project.status == ProjectStatus.PRODUCTION and open_draft(project) is not None:
        return draft_save(
            context=context,
            project=project,
            rows=rows,
            instrument_labels=instrument_labels,
            base=base,
            note=note,
        )
    raise InvalidInput(_("Enter draft mode to change the design of a project in production."))


@transaction.atomic
def draft_save(
    *,
    context: AuditContext,
    project: Project,
    rows: Sequence[FieldRow],
    instrument_labels: Mapping[str, str],
    base: int,
    note: str,
) -> int:
    """Write `rows` into the project's open draft, which must still be at version `base`."""
    problems = dictionary_problems(rows)
    if problems:
        raise DictionaryInvalid(problems)
    draft = (
        DictionaryDraft.objects.select_for_update()
        .filter(project=project, status=DraftStatus.OPEN)
        .first()
    )
    if draft is None:
        raise InvalidInput(_("Enter draft mode to change the design of a project in production."))
    if draft.version != base:
        raise InvalidInput(
            _("The draft changed since you opened it (someone else saved it); reload and retry.")
        )
    old_rows = draft.field_rows()
    names = list(dict.fromkeys(row.form_name for row in rows))
    labels = {**draft.instrument_labels, **instrument_labels}
    draft.rows = [list(row.as_tuple()) for row in rows]
    draft.instrument_labels = {name: labels[name] for name in names if labels.get(name)}
    draft.version += 1
    draft.save(update_fields=["rows", "instrument_labels", "version", "updated_at"])
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="draft.update",
        details=f"Draft changed (version {draft.version}){': ' + note[:200] if note else ''}",
        changes=diff_dictionaries(old_rows, rows).summary(),
    )
    return draft.version


def draft_status_guard(project: Project, to: str) -> str | None:
    """Refuse to take a project out of production while it has a draft open or submitted."""
    if project.status == ProjectStatus.PRODUCTION and active_draft(project) is not None:
        return _("Apply or discard the project's draft before changing its status.")
    return None
