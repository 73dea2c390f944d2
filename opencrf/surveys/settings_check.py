"""Checking a survey's settings before they are kept: each problem names its setting.

The survey settings page shows each message next to its input; the services refuse the whole
change with them (`SurveySettingsInvalid`), so the API and Project XML get the same checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from opencrf.core.errors import InvalidInput
from opencrf.dictionary.design import ProjectDesign
from opencrf.dictionary.logic_check import logic_problem
from opencrf.surveys.models import Survey

# Upper bounds that no study reaches, so that a typo cannot store an absurd number.
LIMITS = {"response_limit": 10_000_000, "time_limit_minutes": 60 * 24 * 365}


class SurveySettingsInvalid(InvalidInput):
    """Survey settings refused: `problems` maps each setting to why."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__(
            "; ".join(f"{_label(name)}: {message}" for name, message in self.problems.items())
        )


def _label(name: str) -> str:
    field = Survey._meta.get_field(name)
    return str(getattr(field, "verbose_name", name))


def settings_problems(
    design: ProjectDesign, form_name: str, values: Mapping[str, Any], surveys: set[str]
) -> dict[str, str]:
    """Every problem of the settings `values` of the survey of `form_name` (merged: old and new).

    `surveys` names the project's other survey instruments (for "due after this survey")."""
    problems: dict[str, str] = {}
    if "title" in values and not str(values["title"]).strip():
        problems["title"] = _("A survey needs a title.")
    url = str(values.get("redirect_url") or "")
    if url and not url.lower().startswith(("https://", "http://")):
        problems["redirect_url"] = _("The address must start with https:// or http://.")
    for name, most in LIMITS.items():
        number = values.get(name)
        if number is not None and not 1 <= int(number) <= most:
            problems[name] = _("Give a whole number from 1 to %(most)s, or leave it blank.") % {
                "most": most
            }
    queue_after = str(values.get("queue_after") or "")
    if queue_after and (queue_after == form_name or queue_after not in surveys):
        problems["queue_after"] = _("Choose another survey of this project.")
    logic = logic_problem(design, str(values.get("queue_logic") or ""))
    if logic:
        problems["queue_logic"] = logic
    if values.get("queue_enabled") and not (queue_after or str(values.get("queue_logic") or "")):
        problems["queue_enabled"] = _(
            "Say when the survey is due: after another survey, by logic, or both."
        )
    problems.update(_econsent_problems(design, form_name, values))
    return problems


def _econsent_problems(
    design: ProjectDesign, form_name: str, values: Mapping[str, Any]
) -> dict[str, str]:
    rows = {row.field_name: row for row in design.form_rows(form_name)}
    problems: dict[str, str] = {}
    name_field = str(values.get("econsent_name_field") or "")
    if name_field and (name_field not in rows or rows[name_field].field_type != "text"):
        problems["econsent_name_field"] = _("Choose a text field of this instrument.")
    signature = str(values.get("econsent_signature_field") or "")
    if signature and (signature not in rows or rows[signature].field_type != "file"):
        problems["econsent_signature_field"] = _(
            "Choose a file upload field of this instrument (a signature field)."
        )
    return problems
