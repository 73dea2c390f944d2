"""Writes to a project's design: the data dictionary and what hangs on its instruments."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from opencrf.audit.services import AuditContext, AuditTarget, audit_event_create
from opencrf.core.errors import InvalidInput
from opencrf.dictionary.checks import check_dictionary, problem_order
from opencrf.dictionary.columns import API_COLUMNS, FieldRow
from opencrf.dictionary.diff import diff_dictionaries
from opencrf.dictionary.logic_check import action_tag_problems, logic_checker
from opencrf.dictionary.models import DictionaryRevision, Field, Instrument
from opencrf.dictionary.problems import Problem
from opencrf.dictionary.rendering import parse_action_tags
from opencrf.dictionary.selectors import latest_revision_number
from opencrf.projects.models import EventInstrument, Project, ProjectStatus, RepeatSetting
from opencrf.projects.services import design_changed


class DictionaryInvalid(InvalidInput):
    """The dictionary breaks rules; `problems` lists every one. Nothing was changed."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(
            _("The data dictionary has %(count)d problem(s); nothing was changed.")
            % {"count": len(problems)}
        )
        self.problems = list(problems)


def default_instrument_label(form_name: str) -> str:
    """`my_first_instrument` → `My First Instrument`, as REDCap labels new forms."""
    return " ".join(word.capitalize() for word in form_name.split("_") if word) or form_name


def form_names(rows: Iterable[FieldRow]) -> list[str]:
    """Instrument names in order of first appearance."""
    return list(dict.fromkeys(row.form_name for row in rows))


def dictionary_problems(
    rows: Sequence[FieldRow], *, row_numbers: Sequence[int] | None = None
) -> list[Problem]:
    """Every rule the rows break (empty when the dictionary can be accepted)."""
    problems = check_dictionary(
        rows,
        allow_sql=settings.OPENCRF_ALLOW_SQL_FIELDS,
        row_numbers=row_numbers,
        logic_checker=logic_checker(rows),
    )
    problems += action_tag_problems(rows, row_numbers=row_numbers, tags_of=parse_action_tags)
    return sorted(problems, key=problem_order)


@transaction.atomic
def dictionary_apply(
    *,
    context: AuditContext,
    project: Project,
    rows: Sequence[FieldRow],
    source: str,
    note: str = "",
    instrument_labels: Mapping[str, str] | None = None,
    expected_revision: int | None = None,
    allow_production: bool = False,
) -> DictionaryRevision:
    """Replace the project's dictionary with `rows` and record the revision.

    Instruments keep their labels; new ones take `instrument_labels` or a label made from
    their name. Designations and repeat settings of removed instruments go with them.
    `expected_revision`, when given, must still be the newest revision: a change previewed
    against an older dictionary is refused rather than applied over someone else's.
    Only development projects are changed, unless `allow_production` (draft mode applying an
    approved draft). Stored values are never touched: a removed field's values stay in its
    forms' JSON and show again when a later revision brings the field back.
    """
    problems = dictionary_problems(rows)
    if problems:
        raise DictionaryInvalid(problems)
    if not allow_production:
        _refuse_in_production(project)
    Project.objects.select_for_update().filter(pk=project.pk).first()
    if expected_revision is not None and expected_revision != latest_revision_number(project):
        raise InvalidInput(
            _("The data dictionary changed since your preview; upload the file again.")
        )
    old_rows = [field.as_row() for field in project.fields.all()]
    labels = _instrument_labels(project, rows, instrument_labels or {})
    instruments = _replace_instruments(project, labels)
    _replace_fields(project, rows, instruments)
    _prune_designations(project, set(labels))
    revision = _add_revision(context, project, rows, labels, source, note)
    diff = diff_dictionaries(old_rows, rows)
    design_changed(project)
    audit_event_create(
        context=context,
        project_id=project.pk,
        action="dictionary.update",
        details=f"Data dictionary revision {revision.number} ({source})",
        changes=diff.summary(),
    )
    return revision


def _refuse_in_production(project: Project) -> None:
    if project.status != ProjectStatus.DEVELOPMENT:
        raise InvalidInput(
            _("The data dictionary can only be replaced while the project is in development.")
        )


def _instrument_labels(
    project: Project, rows: Sequence[FieldRow], given: Mapping[str, str]
) -> dict[str, str]:
    existing = dict(project.instruments.values_list("name", "label"))
    return {
        name: given.get(name) or existing.get(name) or default_instrument_label(name)
        for name in form_names(rows)
    }


def _replace_instruments(project: Project, labels: Mapping[str, str]) -> dict[str, Instrument]:
    project.instruments.exclude(name__in=list(labels)).delete()
    current = {instrument.name: instrument for instrument in project.instruments.all()}
    for position, (name, label) in enumerate(labels.items(), start=1):
        instrument = current.get(name) or Instrument(project=project, name=name)
        if instrument.pk is None or (instrument.label, instrument.position) != (label, position):
            instrument.label, instrument.position = label, position
            instrument.save()
        current[name] = instrument
    return current


def _replace_fields(
    project: Project, rows: Sequence[FieldRow], instruments: Mapping[str, Instrument]
) -> None:
    project.fields.all().delete()
    Field.objects.bulk_create(
        (
            Field(
                project=project,
                instrument=instruments[row.form_name],
                position=position,
                **{name: getattr(row, name) for name in API_COLUMNS},
            )
            for position, row in enumerate(rows, start=1)
        ),
        batch_size=500,
    )


def _prune_designations(project: Project, forms: set[str]) -> None:
    """Drop designations of removed forms; a classic project's one event holds every form."""
    EventInstrument.objects.filter(event__project=project).exclude(form_name__in=forms).delete()
    RepeatSetting.objects.filter(event__project=project).exclude(form_name="").exclude(
        form_name__in=forms
    ).delete()
    if not project.is_longitudinal:
        event = project.events.get()
        have = set(event.instruments.values_list("form_name", flat=True))
        EventInstrument.objects.bulk_create(
            EventInstrument(event=event, form_name=name) for name in sorted(forms - have)
        )


def _add_revision(
    context: AuditContext,
    project: Project,
    rows: Sequence[FieldRow],
    labels: Mapping[str, str],
    source: str,
    note: str,
) -> DictionaryRevision:
    return DictionaryRevision.objects.create(
        project=project,
        number=latest_revision_number(project) + 1,
        rows=[list(row.as_tuple()) for row in rows],
        instrument_labels=dict(labels),
        field_count=len(rows),
        source=source,
        note=note[:500],
        created_by=context.actor,
    )


@transaction.atomic
def instrument_relabel(*, context: AuditContext, instrument: Instrument, label: str) -> Instrument:
    label = label.strip()
    if not label:
        raise InvalidInput(_("An instrument needs a label."))
    old = instrument.label
    if old != label:
        instrument.label = label
        instrument.save(update_fields=["label"])
        design_changed(instrument.project)
        audit_event_create(
            context=context,
            project_id=instrument.project_id,
            action="instrument.update",
            target=AuditTarget(instrument=instrument.name),
            changes={"label": [old, label]},
        )
    return instrument
