from __future__ import annotations

import pytest

from opencrf.core.errors import NotFound
from opencrf.files.selectors import access_file, file_in_project, files_in_project
from opencrf.files.services import file_delete, file_store
from opencrf.files.tests import samples
from opencrf.files.tests.conftest import upload
from opencrf.projects.services import project_create

pytestmark = pytest.mark.django_db


def _store(context, project, name="a.png"):
    return file_store(context=context, project=project, upload=upload(name, samples.PNG))


def test_files_of_a_project_are_found_by_id_in_one_query(
    paula_context, classic_project, django_assert_num_queries
):
    first, second = _store(paula_context, classic_project), _store(paula_context, classic_project)
    other = _store(paula_context, project_create(context=paula_context, title="Other"))
    file_delete(context=paula_context, stored_file=second)
    with django_assert_num_queries(1):
        found = files_in_project(classic_project, [first.pk, second.pk, other.pk, 999])
    assert found == {first.pk: first}


def test_a_file_id_from_another_project_or_deleted_is_not_found(paula_context, classic_project):
    other = _store(paula_context, project_create(context=paula_context, title="Other"))
    with pytest.raises(NotFound, match="No such file"):
        file_in_project(classic_project, other.pk)
    mine = _store(paula_context, classic_project)
    assert file_in_project(classic_project, mine.pk) == mine
    file_delete(context=paula_context, stored_file=mine)
    with pytest.raises(NotFound):
        file_in_project(classic_project, mine.pk)


def test_access_is_by_project_visibility(paula_context, classic_project, pi_paula, site_b_bea):
    mine = _store(paula_context, classic_project)
    assert access_file(pi_paula, mine.pk) == mine
    with pytest.raises(NotFound):
        access_file(site_b_bea, mine.pk)
