"""`content=record&action=randomize`, and the allocation field refused through API imports."""

from __future__ import annotations

import orjson
import pytest

from opencrf.api.tests.client import post
from opencrf.api.tokens import token_create
from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember
from opencrf.randomization.models import Allocation
from opencrf.randomization.services import table_generate
from opencrf.randomization.tests.conftest import enrol

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(setup, trial, paula_context):
    table_generate(
        context=paula_context,
        project=trial,
        environment="development",
        block_sizes="2",
        blocks=3,
        seed="api",
    )
    return setup


def token_of(user, project, context_of):
    ProjectMember.objects.filter(project=project, user=user).update(
        api_import=True, api_export=True
    )
    return token_create(context=context_of(user), user=user, project=project)


def randomize(token, record, setup, **extra):
    return post(
        {
            "token": token,
            "content": "record",
            "action": "randomize",
            "record": record,
            "randomization_id": str(setup.pk),
            "format": "json",
            **extra,
        }
    )


def test_a_record_is_randomized_through_the_api_as_in_redcap(
    ready, trial, site_a, site_a_sam, context_of
):
    token = token_of(site_a_sam, trial, context_of)
    enrol(context_of(site_a_sam), trial, "A-1", site_a, {"sex": "1"})

    response = randomize(token, "A-1", ready)

    allocation = Allocation.objects.get()
    assert (response.status_code, orjson.loads(response.content)) == (
        200,
        {"randomization_id": ready.pk, "record": "A-1", "target_field": allocation.arm},
    )
    entry = AuditEvent.objects.get(action="randomization.allocate")
    assert (entry.source, entry.actor_name) == ("api", "site_a_sam")
    again = randomize(token, "A-1", ready)
    assert orjson.loads(again.content) == {"error": "Record A-1 is randomized already."}


def test_csv_and_xml_answers(ready, trial, site_a, pi_paula, context_of, paula_context):
    token = token_of(pi_paula, trial, context_of)
    enrol(paula_context, trial, "A-1", site_a, {"sex": "1"})
    enrol(paula_context, trial, "A-2", site_a, {"sex": "1"})

    as_csv = randomize(token, "A-1", ready, format="csv")
    as_xml = randomize(token, "A-2", ready, format="xml")

    arms = dict(Allocation.objects.values_list("record_label", "arm"))
    assert as_csv.content.decode() == (
        f"randomization_id,record,target_field\n{ready.pk},A-1,{arms['A-1']}\n"
    )
    assert as_xml.content.decode().endswith(
        f"<item><randomization_id>{ready.pk}</randomization_id><record>A-2</record>"
        f"<target_field>{arms['A-2']}</target_field></item>"
    )


def test_another_sites_record_does_not_exist_for_the_api(
    ready, trial, site_b, site_a_sam, kyoto_bea, context_of
):
    token = token_of(site_a_sam, trial, context_of)
    enrol(context_of(kyoto_bea), trial, "B-1", site_b, {"sex": "1"})

    theirs = randomize(token, "B-1", ready)
    missing = randomize(token, "B-404", ready)

    assert orjson.loads(theirs.content) == {"error": 'The record "B-1" does not exist'}
    assert orjson.loads(missing.content) == {"error": 'The record "B-404" does not exist'}
    assert not Allocation.objects.exists()


def test_refusals_without_the_right_a_wrong_id_or_a_missing_stratum(
    ready, trial, site_a, monitor_mo, site_a_sam, context_of, paula_context
):
    enrol(paula_context, trial, "A-1", site_a, {"note": "no sex"})
    mo = token_of(monitor_mo, trial, context_of)
    sam = token_of(site_a_sam, trial, context_of)

    answers = [
        randomize(mo, "A-1", ready),
        randomize(sam, "A-1", ready, randomization_id="999"),
        randomize(sam, "A-1", ready),
    ]

    assert [(a.status_code, orjson.loads(a.content)["error"]) for a in answers] == [
        (403, "You do not have Randomize privileges"),
        (400, 'The value of the parameter "randomization_id" is not valid'),
        (400, "Record A-1 cannot be randomized: enter sex first."),
    ]
    assert not Allocation.objects.exists()


def test_an_api_import_cannot_write_the_allocation_field(
    ready, trial, site_a, pi_paula, context_of, paula_context
):
    token = token_of(pi_paula, trial, context_of)
    enrol(paula_context, trial, "A-1", site_a, {"sex": "1"})
    randomize(token, "A-1", ready)
    arm = Allocation.objects.get().arm
    other = "2" if arm == "1" else "1"
    data = orjson.dumps([{"record_id": "A-1", "arm": other}, {"record_id": "A-9", "arm": "1"}])

    response = post({"token": token, "content": "record", "format": "json", "data": data.decode()})

    assert response.status_code == 400
    body = orjson.loads(response.content)["error"]
    assert "arm of record A-1 is set by randomization" in body
    assert "arm of record A-9 is set by randomization" in body
    from opencrf.records.models import FormData, Record

    assert FormData.objects.get(record__record_id="A-1").values["arm"] == arm
    assert not Record.objects.filter(record_id="A-9").exists()


def test_a_project_without_randomization_answers_as_redcap(trial, pi_paula, context_of):
    token = token_of(pi_paula, trial, context_of)

    response = post(
        {
            "token": token,
            "content": "record",
            "action": "randomize",
            "record": "1",
            "format": "json",
        }
    )

    assert orjson.loads(response.content) == {
        "error": "Randomization is not enabled in this project"
    }


def test_project_information_says_whether_randomization_is_enabled(
    trial, event, pi_paula, context_of, paula_context
):
    token = token_of(pi_paula, trial, context_of)

    def enabled():
        answer = post({"token": token, "content": "project", "format": "json"})
        return orjson.loads(answer.content)["randomization_enabled"]

    before = enabled()
    from opencrf.randomization.services import setup_save
    from opencrf.randomization.tests.conftest import stratified

    setup_save(context=paula_context, project=trial, data=stratified(trial, event))

    assert (before, enabled()) == (0, 1)
