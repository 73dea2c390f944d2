"""`{{ event|event_label:project }}`, `{{ arm|arm_label:project }}`: names in the page's language.

Multi-language forms translate a longitudinal project's event and arm names (types
`event-name` and `arm-name` of `dictionary.translations`); pages that show them pass them
through these filters. The texts come from the project's cached design (`design_of`), in the
language of the page (the user's interface language); without a translation, the name itself.
"""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from opencrf.dictionary.design import design_of
from opencrf.dictionary.translations import ARM_NAME, EVENT_NAME
from opencrf.projects.models import Arm, Event, Project

register = template.Library()


@register.filter
def event_label(event: Event, project: Project) -> str:
    table = design_of(project).texts_in(get_language())
    return table.get((EVENT_NAME, event.unique_name, ""), event.name)


@register.filter
def arm_label(arm: Arm, project: Project) -> str:
    table = design_of(project).texts_in(get_language())
    return table.get((ARM_NAME, str(arm.number), ""), arm.name)
