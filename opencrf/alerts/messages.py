"""An alert's message for one record, piped and in the recipient's language.

Piping reads only the triggering record's data (`RecordData`): `[field]`, `[field:value]`,
`[field:label]`, `[event][field]` of the same record, and the smart variables `[record-name]`,
`[event-name]`, `[event-label]`, `[instrument-name]`, `[instance]`, `[data-access-group]`,
`[project-title]` and `[alert-title]`. There is no way to name another record. The subject
loses its line breaks, so nothing piped or typed can add a header; the HTML part escapes every
character of the plain text, so nothing becomes markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape, linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from opencrf.accounts.mail import one_line
from opencrf.alerts.evaluation import RecordData
from opencrf.alerts.models import Alert
from opencrf.dictionary.design import ProjectDesign
from opencrf.dictionary.piping import make_piper
from opencrf.projects.models import Event, Project


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def alert_text(alert: Alert, language: str) -> Text:
    """The alert's subject and body in `language`, or in the other language when blank."""
    ja, en = Text(alert.subject_ja, alert.body_ja), Text(alert.subject_en, alert.body_en)
    first, other = (ja, en) if language == "ja" else (en, ja)
    return Text(first.subject or other.subject, first.body or other.body)


def render(
    alert: Alert,
    project: Project,
    design: ProjectDesign,
    data: RecordData,
    event: Event | None,
    form_name: str,
    instance: int,
    language: str,
) -> Text:
    """The message as a recipient of `language` reads it, piped with the record's data."""
    with translation.override(language):
        rows = {row.field_name: row for row in design.rows}
        values = data.values_at(design, event.pk, instance) if event else {}
        record = data.record
        smart = {
            "record-name": record.record_id,
            "event-name": event.unique_name if event else "",
            "event-label": (event.custom_label or event.name) if event else "",
            "instrument-name": form_name,
            "instance": str(instance),
            "data-access-group": record.group.unique_name if record.group else "",
            "project-title": project.title,
            "alert-title": alert.title,
        }
        yes_no = {
            "yesno": {"1": _("Yes"), "0": _("No")},
            "truefalse": {"1": _("True"), "0": _("False")},
        }
        piper = make_piper(rows, values, data=data.data(design), smart=smart, choice_labels=yes_no)
        text = alert_text(alert, language)
        return Text(one_line(piper.plain(text.subject)), piper.plain(text.body))


def mail_html(text: Text, language: str) -> str:
    """The HTML part: the plain text escaped whole, blank lines as paragraphs."""
    body = mark_safe(linebreaks(escape(text.body)))  # noqa: S308 - escaped just before
    context = {"body": body, "subject": text.subject, "language": language}
    return render_to_string("alerts/email.html", context)
