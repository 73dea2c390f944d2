"""The action tags the designer's picker offers, with REDCap's meaning of each: the tags
OpenCRF acts on (see `rendering.parse_action_tags` and its callers)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ActionTag:
    name: str
    example: str
    help: str | Promise


ACTION_TAGS: tuple[ActionTag, ...] = (
    ActionTag("@HIDDEN", "@HIDDEN", _("Hides the field on data entry forms and surveys.")),
    ActionTag("@HIDDEN-FORM", "@HIDDEN-FORM", _("Hides the field on data entry forms only.")),
    ActionTag("@HIDDEN-SURVEY", "@HIDDEN-SURVEY", _("Hides the field on surveys only.")),
    ActionTag("@READONLY", "@READONLY", _("Shows the field but its value cannot be changed.")),
    ActionTag(
        "@READONLY-FORM", "@READONLY-FORM", _("Read-only on data entry forms; editable in surveys.")
    ),
    ActionTag("@DEFAULT", "@DEFAULT='1'", _("A value the field starts with on a new, empty form.")),
    ActionTag("@TODAY", "@TODAY", _("Fills a date field with today's date on a new form.")),
    ActionTag("@NOW", "@NOW", _("Fills a date-time field with the current time on a new form.")),
    ActionTag(
        "@PLACEHOLDER", "@PLACEHOLDER='Type here'", _("Greyed text shown in an empty text box.")
    ),
    ActionTag("@CHARLIMIT", "@CHARLIMIT=50", _("The most characters a text or notes box takes.")),
    ActionTag(
        "@HIDECHOICE", "@HIDECHOICE='3,4'", _("Hides these choice codes (kept if already chosen).")
    ),
    ActionTag(
        "@CALCTEXT",
        "@CALCTEXT(if([age]>=18,'adult','minor'))",
        _("A text field computed from the expression, like a calculated field giving text."),
    ),
    ActionTag(
        "@CALCDATE",
        "@CALCDATE([visit_date],30,'d')",
        _("A date computed from a date, an offset and a unit (y, M, d, h, m, s)."),
    ),
)
