from __future__ import annotations

import pytest

from opencrf.demo.loader import load_demo
from opencrf.projects.models import Purpose

pytestmark = pytest.mark.django_db


def test_the_demo_study_loads_once_with_its_design(pi_paula):
    project, created = load_demo(owner_username="pi_paula")
    again, created_again = load_demo()

    assert (created, created_again, again.pk) == (True, False, project.pk)
    assert (project.is_longitudinal, project.purpose) == (True, Purpose.RESEARCH)
    assert [i.name for i in project.instruments.all()] == [
        "enrolment",
        "baseline",
        "visit",
        "quality_of_life",
        "adverse_event",
        "study_completion",
    ]
    assert project.events.count() == 5
    assert project.groups.count() == 3
    assert set(
        project.events.filter(repeats__form_name="adverse_event").values_list(
            "unique_name", flat=True
        )
    ) == {
        "week_12_arm_1",
        "week_24_arm_1",
        "week_52_arm_1",
    }
    types = set(project.fields.values_list("field_type", flat=True))
    assert types == {
        "text",
        "notes",
        "dropdown",
        "radio",
        "checkbox",
        "yesno",
        "truefalse",
        "calc",
        "file",
        "slider",
        "descriptive",
    }
    assert project.members.get().user == pi_paula


def test_an_unknown_owner_is_refused_and_nothing_is_loaded():
    from opencrf.core.errors import InvalidInput
    from opencrf.projects.models import Project

    with pytest.raises(InvalidInput):
        load_demo(owner_username="nobody")
    assert not Project.objects.exists()
