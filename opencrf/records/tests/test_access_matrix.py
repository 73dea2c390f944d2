"""The access matrix, generated from the URL configuration (issue 5's acceptance).

Every URL pattern is walked. Three rules hold for each:

- without login, only an explicit allowlist of pages answers; every other page sends the
  visitor to the login page (or refuses the method) and shows nothing;
- a member of one project asking, by id, for anything of another project gets exactly what a
  missing id gets;
- a member of one site (data access group) asking for another site's record, by any path that
  names a record, gets exactly what a missing record gets — and nothing changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from opencrf.audit.models import AuditEvent
from opencrf.projects.models import ProjectMember
from opencrf.projects.services import project_create
from opencrf.records.models import FormData, Record
from opencrf.records.services import form_save, record_create

from .conftest import coordinator_rights

pytestmark = pytest.mark.django_db

# Pages a visitor may open without logging in, and why.
ANONYMOUS = {
    "accounts:login": "the login page",
    "accounts:password_reset": "asking for a reset link",
    "accounts:password_reset_done": "the reset link was sent",
    "accounts:password_reset_confirm": "the link from the e-mail",
    "accounts:password_reset_complete": "the password was reset",
    "accounts:request": "requesting an account",
    "accounts:request_sent": "the request was received",
    "accounts:activate": "the activation link from the e-mail",
    "accounts:terms": "the terms of use, read before requesting an account",
    "set_language": "switching the language of the login page",
    "ops:alive": "the liveness probe",
    "ops:ready": "the readiness probe",
    "metrics": "Prometheus metrics: loopback, or a token or allowed network (403 otherwise)",
    "api": "the API, authenticated by its token",
    "": "the site root, which redirects",
    "favicon": "the site's icon, which browsers ask for on every page, login included",
    "surveys_public:code": "where survey participants type their access code (no account)",
}
PER_RESPONSE = re.compile(
    rb'(name="csrfmiddlewaretoken" value|name="next" value|nonce|data-session-seconds)="[^"]*"'
)


def patterns(
    resolvers: list[Any] | None = None, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, list[str]]]:
    """(route, name, converter kwargs) of every URL pattern."""
    for item in resolvers if resolvers is not None else get_resolver().url_patterns:
        if isinstance(item, URLResolver):
            inner = (
                f"{namespace}:{item.namespace}"
                if namespace and item.namespace
                else (item.namespace or namespace)
            )
            yield from patterns(item.url_patterns, prefix + str(item.pattern), inner)
        elif isinstance(item, URLPattern):
            name = f"{namespace}:{item.name}" if namespace and item.name else (item.name or "")
            route = prefix + str(item.pattern)
            yield route, name, re.findall(r"<(?:\w+:)?(\w+)>", route)


ALL = list(patterns())


def url(route: str, values: dict[str, Any]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)


def body(response: Any) -> bytes:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return PER_RESPONSE.sub(rb'\1=""', content)


DUMMY = {
    "project_id": 1,
    "record_id": "1",
    "event_name": "e",
    "form_name": "f",
    "instance": 1,
    "field_name": "x",
    "number": 1,
    "event_id": 1,
    "member_id": 1,
    "role_id": 1,
    "group_id": 1,
    "file_id": 1,
    "user_id": 1,
    "request_id": 1,
    "version_id": 1,
    "token": "t",
    "uidb64": "u",
    "incident_id": 1,
    "window_id": 1,
    "report_id": 1,
    "export_id": 1,
    "key": "1",
    "year": 2026,
    "month": "11",
    "survey_id": 1,
    "participant_id": 1,
    "consent_id": 1,
    "invitation_id": 1,
    "public_token": "t",
    "code": "ja",
    "deletion_id": 1,
    "rule_id": 1,
    "run_id": 1,
    "result_id": 1,
    "alert_id": 1,
    "notification_id": 1,
    "entry_id": 1,
    "query_id": 1,
    "comment_id": 1,
}


def test_every_kwarg_of_the_url_configuration_is_known_to_this_test():
    used = {kwarg for _route, _name, kwargs in ALL for kwarg in kwargs}

    assert used <= set(DUMMY)


@pytest.mark.parametrize(
    ("route", "name"), [(r, n) for r, n, _k in ALL], ids=[n or r for r, n, _k in ALL]
)
def test_without_login_only_the_allowlisted_pages_answer(client, route, name):
    address = url(route, DUMMY)
    answers = [client.get(address), client.post(address)]

    to_login = [
        response.status_code in (302, 303) and response["Location"].startswith("/accounts/login/")
        for response in answers
    ]
    if name in ANONYMOUS:
        assert not all(to_login), f"{name} is allowlisted but asks for a login"
        return
    for response in answers:
        if response.status_code in (302, 303):
            assert response["Location"].startswith("/accounts/login/"), (address, response)
        else:
            assert response.status_code in (404, 405), (address, response.status_code)


@pytest.fixture
def world(salt_rct, paula_context, groups, events, django_user_model, pi_paula):
    """Project P (salt_rct) with an Osaka and a Kyoto record; Sam coordinates Osaka; project
    Q, Paula's other project, with a record of its own."""
    sam = django_user_model.objects.create_user(username="site_a_sam", password="x")
    ProjectMember.objects.create(
        project=salt_rct, user=sam, group=groups["osaka_central"], **coordinator_rights(salt_rct)
    )
    osaka = record_create(
        context=paula_context, project=salt_rct, record_id="1-1", group=groups["osaka_central"]
    )
    kyoto = record_create(
        context=paula_context, project=salt_rct, record_id="2-1", group=groups["kyoto_north"]
    )
    for record in (osaka, kyoto):
        form_save(
            context=paula_context,
            record=record,
            event=events["screening_arm_1"],
            form_name="screening",
            values={"initials": "AB"},
            base_version=0,
        )
    other = project_create(context=paula_context, title="Q")
    q_record = record_create(context=paula_context, project=other, record_id="9")
    return {"P": salt_rct, "Q": other, "sam": sam, "kyoto": kyoto, "q_record": q_record}


def state() -> tuple[Any, ...]:
    return (
        sorted(Record.objects.values_list("record_id", "group_id")),
        sorted(FormData.objects.values_list("record_id", "form_name", "version")),
        AuditEvent.objects.count(),
    )


RECORD_ROUTES = [(r, n) for r, n, kwargs in ALL if "record_id" in kwargs]
PROJECT_ROUTES = [(r, n) for r, n, kwargs in ALL if "project_id" in kwargs]


@pytest.mark.parametrize(("route", "name"), RECORD_ROUTES, ids=[n for _r, n in RECORD_ROUTES])
def test_another_sites_record_is_a_missing_record_on_every_path(world, route, name):
    sam = Client()
    sam.force_login(world["sam"])
    values = {
        **DUMMY,
        "project_id": world["P"].pk,
        "event_name": "screening_arm_1",
        "form_name": "screening",
        "instance": 1,
        "field_name": "consent_form",
    }
    before = state()

    for method in ("get", "post"):
        theirs = getattr(sam, method)(url(route, {**values, "record_id": "2-1"}))
        missing = getattr(sam, method)(url(route, {**values, "record_id": "no-such-record"}))
        assert (theirs.status_code, body(theirs)) == (missing.status_code, body(missing)), (
            method,
            route,
        )
        assert theirs.status_code in (404, 405)
    assert state() == before


@pytest.mark.parametrize(("route", "name"), PROJECT_ROUTES, ids=[n for _r, n in PROJECT_ROUTES])
def test_another_projects_objects_are_missing_objects_on_every_path(world, route, name):
    sam = Client()
    sam.force_login(world["sam"])
    other = world["Q"]
    event = other.events.get()
    values = {
        **DUMMY,
        "project_id": other.pk,
        "record_id": "9",
        "event_name": event.unique_name,
        "event_id": event.pk,
        "form_name": "form_1",
        "field_name": "record_id",
    }
    before = state()

    for method in ("get", "post"):
        theirs = getattr(sam, method)(url(route, values))
        missing = getattr(sam, method)(url(route, {**values, "project_id": 999_999}))
        assert (theirs.status_code, body(theirs)) == (missing.status_code, body(missing)), (
            method,
            route,
        )
        assert theirs.status_code in (404, 405)
    assert state() == before


def test_another_projects_file_is_a_missing_file(world, paula_context):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from opencrf.files.services import file_store

    stored = file_store(
        context=paula_context,
        project=world["Q"],
        upload=SimpleUploadedFile("q.txt", b"secret of Q\n"),
    )
    sam = Client()
    sam.force_login(world["sam"])

    theirs = sam.get(f"/files/{stored.pk}/download/")
    missing = sam.get("/files/999999/download/")

    assert (theirs.status_code, body(theirs)) == (missing.status_code, body(missing))
    assert theirs.status_code == 404


# Views that take no cookie-authenticated change: the API authenticates by token.
CSRF_EXEMPT = {"api": "authenticated by the token in the body, never by a cookie"}


@pytest.mark.parametrize(
    ("route", "name"), [(r, n) for r, n, _k in ALL], ids=[n or r for r, n, _k in ALL]
)
def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(
    world, admin_ada, route, name
):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_ada)
    values = {
        **DUMMY,
        "project_id": world["P"].pk,
        "record_id": "1-1",
        "event_name": "screening_arm_1",
        "form_name": "screening",
    }
    before = state()

    response = client.post(url(route, values), {"name": "x", "action": "delete"})

    if name in CSRF_EXEMPT:
        return
    assert response.status_code in (403, 405), (route, response.status_code)
    assert state() == before
