"""`content=fileRepository`: the project's file repository (spec §2.20)."""

from __future__ import annotations

from django.http import HttpResponse
from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.api.files import file_download
from opencrf.api.formats import table_response
from opencrf.core.errors import NotFound
from opencrf.files.checks import FileRefused
from opencrf.files.models import RepositoryDocument, RepositoryFolder
from opencrf.files.repository import (
    access_document,
    access_folder,
    document_add,
    document_delete,
    folder_create,
    folder_listing,
)
from opencrf.projects.models import DataAccessGroup, Project, Role


def _project(call: Call) -> Project:
    assert call.project is not None
    return call.project


def _folder(call: Call) -> RepositoryFolder | None:
    folder_id = call.params.number("folder_id")
    try:
        return access_folder(call.user, _project(call), folder_id)
    except NotFound:
        raise ApiError(
            f"The File Repository folder folder_id={folder_id} does not exist or else you do not "
            "have permission to that folder because it is DAG-restricted or Role-restricted."
        ) from None


def repository(call: Call) -> HttpResponseBase:
    action = call.params.text("action")
    handlers = {
        "createFolder": _create_folder,
        "list": _list,
        "export": _export,
        "import": _import,
        "delete": _delete,
    }
    if action not in handlers:
        raise ApiError('The value of the parameter "action" is not valid')
    return handlers[action](call)


def _create_folder(call: Call) -> HttpResponseBase:
    call.require_import()
    project = _project(call)
    group_id, role_id = call.params.number("dag_id"), call.params.number("role_id")
    group = (
        DataAccessGroup.objects.filter(project=project, pk=group_id).first() if group_id else None
    )
    role = Role.objects.filter(project=project, pk=role_id).first() if role_id else None
    if (group_id and group is None) or (role_id and role is None):
        raise ApiError("The data access group or role does not exist")
    folder = folder_create(
        context=call.context,
        project=project,
        name=call.params.text("name"),
        parent=_folder(call),
        group=group,
        role=role,
    )
    return table_response(call.format, ("folder_id",), [{"folder_id": folder.pk}])


def _list(call: Call) -> HttpResponseBase:
    call.require_export()
    folders, documents = folder_listing(call.user, _project(call), _folder(call))
    rows: list[dict[str, object]] = [{"folder_id": f.pk, "name": f.name} for f in folders]
    rows += [{"doc_id": d.pk, "name": d.stored_file.original_name} for d in documents]
    return table_response(call.format, ("folder_id", "doc_id", "name"), rows)


def _document(call: Call) -> RepositoryDocument:
    try:
        return access_document(call.user, _project(call), call.params.number("doc_id") or 0)
    except NotFound:
        raise ApiError("The file does not exist or you do not have permission to it") from None


def _export(call: Call) -> HttpResponseBase:
    call.require_export()
    return file_download(_document(call).stored_file)


def _import(call: Call) -> HttpResponseBase:
    call.require_import()
    upload = call.request.FILES.get("file")
    if upload is None:
        raise ApiError('The parameter "file" is missing')
    try:
        document_add(
            context=call.context, project=_project(call), upload=upload, folder=_folder(call)
        )
    except FileRefused as refused:
        raise ApiError(str(refused.message)) from None
    return HttpResponse("", content_type="text/plain; charset=utf-8")


def _delete(call: Call) -> HttpResponseBase:
    call.require_import()
    document_delete(context=call.context, document=_document(call))
    return HttpResponse("", content_type="text/plain; charset=utf-8")
