"""The demo study with surveys on: quality of life is a survey (Paula designs; Sam is at site A)."""

from __future__ import annotations

import pytest

from opencrf.audit.services import AuditContext
from opencrf.demo.loader import load_demo
from opencrf.surveys.models import Survey
from opencrf.surveys.services import survey_enable
from opencrf.testing.smtp import smtp  # noqa: F401 (a fixture)


@pytest.fixture
def demo(pi_paula):
    project, _created = load_demo(owner_username="pi_paula")
    project.surveys_enabled = True
    project.save(update_fields=["surveys_enabled"])
    # The shipped demo makes quality of life a survey; tests here start with none.
    Survey.objects.filter(project=project).delete()
    # And with the dictionary's own (Japanese) texts only: the demo's English translations
    # would name the tests' surveys and fields otherwise (test_public_languages adds its own).
    project.translations.all().delete()
    project.languages.all().delete()
    return project


@pytest.fixture
def qol_survey(demo, paula_context):
    return survey_enable(
        context=paula_context, project=demo, form_name="quality_of_life", title="QOL"
    )


@pytest.fixture
def system_context():
    return AuditContext.system()
