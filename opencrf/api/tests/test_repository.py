"""The file repository through the API (spec §2.20)."""

from __future__ import annotations

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.files.models import RepositoryDocument
from opencrf.projects.models import ProjectMember
from opencrf.projects.services import group_create

pytestmark = pytest.mark.django_db


def repo(token, action, **values):
    return post({"token": token, "content": "fileRepository", "action": action, **values})


def test_folders_and_files_are_created_listed_downloaded_and_deleted(token, study):
    made = repo(token, "createFolder", name="Protocols", format="json")
    folder_id = orjson.loads(made.content)[0]["folder_id"]
    uploaded = repo(
        token,
        "import",
        folder_id=str(folder_id),
        file=SimpleUploadedFile("protocol.txt", b"version 2\n"),
    )

    top = repo(token, "list", format="csv", folder_id="")
    inside = orjson.loads(repo(token, "list", format="json", folder_id=str(folder_id)).content)
    document = RepositoryDocument.objects.get()
    exported = repo(token, "export", doc_id=str(document.pk))

    assert (uploaded.status_code, uploaded.content) == (200, b"")
    assert top.content.decode().splitlines() == ["folder_id,doc_id,name", f"{folder_id},,Protocols"]
    assert inside == [{"doc_id": document.pk, "name": "protocol.txt"}]
    assert exported.content == b"version 2\n"
    assert exported.content_type == 'text/plain; name="protocol.txt";charset=UTF-8'
    assert repo(token, "delete", doc_id=str(document.pk)).status_code == 200
    assert orjson.loads(repo(token, "list", format="json", folder_id=str(folder_id)).content) == []


def test_a_group_folder_is_hidden_from_another_group(token, study, paula_context, site_b_bea):
    north = group_create(context=paula_context, project=study, name="North")
    south = group_create(context=paula_context, project=study, name="South")
    made = repo(token, "createFolder", name="North only", dag_id=str(north.pk), format="json")
    folder_id = orjson.loads(made.content)[0]["folder_id"]
    ProjectMember.objects.create(project=study, user=site_b_bea, group=south, api_export=True)
    bea = token_create(context=paula_context, user=site_b_bea, project=study)

    listed = orjson.loads(repo(bea, "list", format="json").content)
    opened = repo(bea, "list", format="csv", folder_id=str(folder_id))

    assert listed == []
    message = (
        f"ERROR: The File Repository folder folder_id={folder_id} does not exist or else you do "
        "not have permission to that folder because it is DAG-restricted or Role-restricted."
    )
    assert (opened.status_code, opened.content) == (400, message.encode())


def test_an_unknown_action_is_refused(token, study):
    response = repo(token, "rename", format="json")

    assert orjson.loads(response.content) == {
        "error": 'The value of the parameter "action" is not valid'
    }
