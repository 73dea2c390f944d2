"""The API follows the project's status: no metadata import outside development."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.api.tests.conftest import ROWS
from opencrf.dictionary.models import DictionaryRevision
from opencrf.dictionary.selectors import project_rows
from opencrf.projects.models import Project, ProjectStatus

pytestmark = pytest.mark.django_db


def _import(token, rows):
    data = orjson.dumps([row.as_dict() for row in rows]).decode()
    return post({"token": token, "content": "metadata", "format": "json", "data": data})


@pytest.mark.parametrize("status", [ProjectStatus.PRODUCTION, ProjectStatus.ANALYSIS])
def test_a_metadata_import_outside_development_is_refused(token, study, status):
    Project.objects.filter(pk=study.pk).update(status=status)
    response = _import(token, ROWS[:2])
    assert response.status_code == 400
    assert orjson.loads(response.content) == {
        "error": "Metadata can only be imported while the project is in development status. "
        "Use draft mode in the web interface to change a project in production."
    }
    assert project_rows(study) == ROWS
    assert DictionaryRevision.objects.filter(project=study).count() == 1


def test_a_metadata_import_in_development_still_works(token, study):
    response = _import(token, ROWS[:2])
    assert response.status_code == 200
    assert project_rows(study) == ROWS[:2]
