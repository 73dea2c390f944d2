"""`content=file`: the file of one file field of one record (spec §2.19).

Export streams the bytes with `Content-Type: <type>; name="<file name>"` (and `;charset=UTF-8`
for text), which PyCap and REDCapR parse. Import stores the upload through the files app
(checked by content, scanned when a scanner is configured) and saves the field through the
records service; the file it replaces is then retired. Success is an empty 200.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.files import File
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.dictionary.design import design_of
from opencrf.files.checks import FileRefused
from opencrf.files.models import StoredFile
from opencrf.files.selectors import files_in_project, open_stored_file
from opencrf.files.services import file_delete, file_store
from opencrf.projects.models import Event
from opencrf.records.auditing import record_target
from opencrf.records.models import FormData, Record
from opencrf.records.selectors import record_arm_ids, records_visible_to
from opencrf.records.services import form_save

CHUNK = 64 * 1024


def file(call: Call) -> HttpResponseBase:
    action = call.action
    if action == "export":
        return _export(call)
    if action == "import":
        return _import(call)
    if action == "delete":
        return _delete(call)
    raise ApiError('The value of the parameter "action" is not valid')


def _target(call: Call) -> tuple[Record, Event, str, int]:
    """The record, event, form and instance the call names; errors as REDCap words them."""
    project = call.project
    assert project is not None
    design = design_of(project)
    name = call.params.text("field")
    row = next((r for r in design.rows if r.field_name == name), None)
    if row is None or row.field_type != "file":
        raise ApiError(f"The field '{name}' does not exist or is not a 'file' field")
    record_id = call.params.text("record")
    record = records_visible_to(call.user, project).filter(record_id=record_id).first()
    if record is None:
        raise ApiError(f'The record "{record_id}" does not exist')
    event_name = call.params.text("event")
    arm_ids = record_arm_ids(record)
    events = [event for event in design.events if event.arm_id in arm_ids]
    event = next((e for e in events if e.unique_name == event_name), None)
    if event is None and (event_name or project.is_longitudinal):
        raise ApiError(f"The event '{event_name}' does not exist")
    event = event or events[0]
    if not call.rights.can_see_form(row.form_name):
        raise ApiError(f"The field '{name}' does not exist or is not a 'file' field")
    instance = call.params.number("repeat_instance", 1) or 1
    return record, event, row.form_name, instance


def _stored(
    call: Call, record: Record, event: Event, form: str, instance: int
) -> StoredFile | None:
    data = FormData.objects.filter(
        record=record, event=event, form_name=form, instance=instance
    ).first()
    value = data.values.get(call.params.text("field"), "") if data else ""
    if not (value.isascii() and value.isdigit()):
        return None
    assert call.project is not None
    return files_in_project(call.project, [int(value)]).get(int(value))


def _export(call: Call) -> HttpResponseBase:
    call.require_export()
    stored = _stored(call, *_target(call))
    if stored is None:
        raise ApiError("There is no file to download for this record")
    return file_download(stored)


def file_download(stored: StoredFile) -> HttpResponseBase:
    """The bytes, named in the Content-Type as PyCap and REDCapR read it."""
    handle = open_stored_file(stored)
    name = stored.original_name.replace('"', "")
    content_type = f'{stored.media_type}; name="{name}"'
    if stored.media_type.startswith("text/"):
        content_type += ";charset=UTF-8"
    response = StreamingHttpResponse(_chunks(handle), content_type=content_type)
    response["Content-Length"] = str(stored.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "attachment"
    return response


def _chunks(handle: File[bytes]) -> Iterator[bytes]:
    try:
        while chunk := handle.read(CHUNK):
            yield chunk
    finally:
        handle.close()


def _import(call: Call) -> HttpResponseBase:
    call.require_import()
    record, event, form, instance = _target(call)
    upload = call.request.FILES.get("file")
    if upload is None:
        raise ApiError('The parameter "file" is missing')
    assert call.project is not None
    try:
        target = record_target(record, event, form, instance)
        stored = file_store(
            context=call.context,
            project=call.project,
            upload=upload,
            allow_empty=True,
            target=target,
        )
    except FileRefused as refused:
        raise ApiError(str(refused.message)) from None
    old = _stored(call, record, event, form, instance)
    try:
        with transaction.atomic():
            _save(call, record, event, form, instance, str(stored.pk))
            if old is not None:
                file_delete(
                    context=call.context, stored_file=old, reason="Replaced through the API"
                )
    except Exception:
        file_delete(context=call.context, stored_file=stored, reason="Upload not saved")
        raise
    return HttpResponse("", content_type="text/plain; charset=utf-8")


def _delete(call: Call) -> HttpResponseBase:
    call.require_import()
    record, event, form, instance = _target(call)
    old = _stored(call, record, event, form, instance)
    if old is None:
        raise ApiError("There is no file to delete for this record")
    with transaction.atomic():
        _save(call, record, event, form, instance, "")
        file_delete(context=call.context, stored_file=old, reason="Deleted through the API")
    return HttpResponse("", content_type="text/plain; charset=utf-8")


def _save(call: Call, record: Record, event: Event, form: str, instance: int, value: str) -> None:
    form_save(
        context=call.context,
        record=record,
        event=event,
        form_name=form,
        instance=instance,
        values={call.params.text("field"): value},
        base_version=None,
    )
