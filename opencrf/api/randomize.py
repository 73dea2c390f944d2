"""`content=record&action=randomize` (spec §2.5): randomize one record, as REDCap's API does.

Parameters `record` and `randomization_id` (the set-up's id, shown on the set-up page; a project
has one); `returnAlt` asks for the blinded field too, which OpenCRF does not have, so it is
left out. Needs API import rights and the randomize right; the record must be one the user may
see (another site's record does not exist). Answers `{randomization_id, record, target_field}`
in the asked format; `target_field` is blank for a member blinded to the allocation field.
The allocation itself is `randomization.services.record_randomize`: the next row of the
record's stratum, or minimization, audited with source `api`.
"""

from __future__ import annotations

import csv
import io
from xml.sax.saxutils import escape

import orjson
from django.http import HttpResponse

from opencrf.api.calls import Call
from opencrf.api.errors import ApiError
from opencrf.api.formats import CONTENT_TYPES, XML_DECLARATION
from opencrf.randomization.services import record_randomize, setup_of
from opencrf.records.selectors import records_visible_to


def randomize(call: Call) -> HttpResponse:
    call.require_import()
    project = call.project
    assert project is not None
    setup = setup_of(project)
    if setup is None:
        raise ApiError("Randomization is not enabled in this project")
    if not (call.rights.is_admin or call.rights.randomization_perform):
        raise ApiError("You do not have Randomize privileges", status=403)
    record_id = call.params.text("record")
    if not record_id:
        raise ApiError('The parameter "record" is required')
    if call.params.text("randomization_id") != str(setup.pk):
        raise ApiError('The value of the parameter "randomization_id" is not valid')
    record = records_visible_to(call.user, project).filter(record_id=record_id).first()
    if record is None:
        raise ApiError(f'The record "{record_id}" does not exist')
    allocation = record_randomize(context=call.context, project=project, record=record)
    arm = allocation.arm
    if setup.blinded_form and not call.rights.can_see_form(setup.blinded_form):
        arm = ""  # a blinded member is not told the arm (randomization/blinding.py)
    answer = {"randomization_id": setup.pk, "record": record.record_id, "target_field": arm}
    return _answer(call.format, answer)


def _answer(fmt: str, answer: dict[str, object]) -> HttpResponse:
    if fmt == "json":
        return HttpResponse(orjson.dumps(answer), content_type=CONTENT_TYPES["json"])
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(answer.keys())
        writer.writerow(answer.values())
        return HttpResponse(out.getvalue(), content_type=CONTENT_TYPES["csv"])
    items = "".join(f"<{key}>{escape(str(value))}</{key}>" for key, value in answer.items())
    body = f"{XML_DECLARATION}\n<item>{items}</item>"
    return HttpResponse(body, content_type=CONTENT_TYPES["xml"])
