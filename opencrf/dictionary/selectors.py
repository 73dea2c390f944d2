"""Protected reads of a project's design."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from opencrf.core.errors import NotFound
from opencrf.dictionary.columns import FieldRow
from opencrf.dictionary.models import DictionaryRevision, Field, Instrument
from opencrf.projects.models import Project


def project_rows(project: Project) -> list[FieldRow]:
    """The current dictionary, in order."""
    return [field.as_row() for field in project.fields.all()]


def project_instruments(project: Project) -> QuerySet[Instrument]:
    return project.instruments.all()


def instrument_by_name(project: Project, form_name: str) -> Instrument:
    instrument = project.instruments.filter(name=form_name).first()
    if instrument is None:
        raise NotFound(_("No such instrument."))
    return instrument


def instrument_fields(instrument: Instrument) -> QuerySet[Field]:
    return instrument.fields.order_by("position")


def latest_revision_number(project: Project) -> int:
    """The number of the newest revision, 0 before the first."""
    latest = project.revisions.order_by("-number").values_list("number", flat=True).first()
    return latest or 0


def revision_by_number(project: Project, number: int) -> DictionaryRevision:
    revision = project.revisions.filter(number=number).first()
    if revision is None:
        raise NotFound(_("No such revision."))
    return revision
